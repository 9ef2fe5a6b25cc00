//! Names for processors that are blank nodes (`[] a js:GlobRead; ...`), which connector-architecture
//! pipelines often are: their class, file and line (`[js:GlobRead at pipeline.ttl:7]`), so that two
//! of them never both print as `[]` in logs, errors, summaries and plans.

use crate::loader::{format_of, Loaded};
use crate::queries;
use oxigraph::io::RdfParser;
use oxigraph::model::{BlankNode, NamedOrBlankNode, Term};
use std::collections::HashMap;
use std::io::Read;

/// Gives every blank processor of `loaded` its name in `loaded.names`.
pub fn name_blank_processors(loaded: &mut Loaded) {
    let mut wanted: Vec<(BlankNode, String)> = Vec::new();
    for row in queries::PROCESSORS.select(&loaded.store, &[]) {
        if let (Some(Term::BlankNode(b)), Some(Term::NamedNode(class))) = (row.get("processor"), row.get("class")) {
            if !wanted.iter().any(|(w, _)| w == b) {
                wanted.push((b.clone(), loaded.names.iri(class.as_str())));
            }
        }
    }
    let mut lines_of: HashMap<usize, HashMap<usize, u64>> = HashMap::new();
    for (blank, class) in wanted {
        let Some((file, n)) = label_position(blank.as_str()) else { continue };
        let Some(graph) = loaded.sources.get(file) else { continue };
        let shown = loaded.names.file(graph.as_str());
        let lines = lines_of
            .entry(file)
            .or_insert_with(|| crate::fileurl::to_path(graph.as_str()).map(|p| first_lines(&p)).unwrap_or_default());
        let name = match lines.get(&n) {
            Some(line) => format!("[{class} at {shown}:{line}]"),
            None => format!("[{class} in {shown}]"),
        };
        loaded.names.name_blank(blank.as_str(), name);
    }
}

/// The loader labels blank nodes `f<file>b<n>`: the n-th blank node of the file-th file read.
fn label_position(label: &str) -> Option<(usize, usize)> {
    let (file, n) = label.strip_prefix('f')?.split_once('b')?;
    Some((file.parse().ok()?, n.parse().ok()?))
}

/// For the n-th blank node of the file (in order of first appearance, as the loader counts them),
/// the line on which the parser had read far enough to produce its first statement: the line that
/// declares it. The file is fed to the parser one line at a time to know where it is.
fn first_lines(path: &std::path::Path) -> HashMap<usize, u64> {
    let mut lines = HashMap::new();
    let (Some(format), Ok(text)) = (format_of(path), std::fs::read(path)) else { return lines };
    let reader = LineReader { text, position: 0, line: std::rc::Rc::new(std::cell::Cell::new(0)) };
    let line = reader.line.clone();
    let mut seen: HashMap<BlankNode, usize> = HashMap::new();
    let mut note = |b: BlankNode| {
        if !seen.contains_key(&b) {
            let n = seen.len();
            seen.insert(b, n);
            lines.insert(n, line.get().max(1));
        }
    };
    let base = crate::fileurl::from_path(path);
    let Ok(parser) = RdfParser::from_format(format).with_base_iri(base.as_str()) else { return HashMap::new() };
    for quad in parser.for_reader(reader) {
        let Ok(quad) = quad else { break };
        if let NamedOrBlankNode::BlankNode(b) = quad.subject {
            note(b);
        }
        if let Term::BlankNode(b) = quad.object {
            note(b);
        }
    }
    lines
}

/// Hands out one line per read, counting lines as it goes.
struct LineReader {
    text: Vec<u8>,
    position: usize,
    line: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Read for LineReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.text[self.position..];
        if rest.is_empty() {
            return Ok(0);
        }
        let end = rest.iter().position(|&b| b == b'\n').map(|i| i + 1).unwrap_or(rest.len());
        let n = end.min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        if rest[..n].ends_with(b"\n") || n == rest.len() {
            self.line.set(self.line.get() + 1);
        }
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_blank_node_gets_the_line_that_declares_it() {
        let dir = std::env::temp_dir().join(format!("riffle-blank-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.ttl");
        std::fs::write(&path, "@prefix ex: <http://example.org/>.\n\n[] a ex:A;\n  ex:p [ ex:q 1 ].\n\n[] a ex:B.\n")
            .unwrap();
        let lines = first_lines(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(lines.get(&0), Some(&3));
        assert_eq!(lines.get(&1), Some(&4));
        assert_eq!(lines.get(&2), Some(&6));
    }
}
