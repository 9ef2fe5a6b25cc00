//! Loading a pipeline file and everything it imports into one in-memory store, one named graph per
//! source file so that every later message can name the file a statement came from.

use crate::bundled;
use crate::fileurl;
use crate::names::Names;
use crate::problem::{Problem, ProblemKind};
use crate::relevance::{self, Connectivity};
use crate::vocab;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfParseError, RdfParser, SliceQuadParser};
use oxigraph::model::{BlankNode, GraphName, NamedNode, NamedOrBlankNode, Quad, Term, Triple};
use oxigraph::store::Store;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Namespaces Riffle bundles: importing them is satisfied without reading anything.
const BUNDLED_NAMESPACES: &[&str] =
    &["https://w3id.org/riffle", "https://w3id.org/rdf-connect", "https://w3id.org/conn"];

/// The loaded files of one pipeline.
pub struct Loaded {
    pub store: Store,
    /// The pipeline file, absolute.
    pub path: PathBuf,
    /// The graph (= base IRI) of the pipeline file.
    pub graph: NamedNode,
    pub names: Names,
    /// Every file read, in load order, as graph IRIs.
    pub sources: Vec<NamedNode>,
    /// Problems met while loading (unreadable files, syntax errors, missing imports).
    pub problems: Vec<Problem>,
    /// Notes on what loading set aside (statements of large imports not connected to the pipeline).
    pub notices: Vec<Problem>,
    /// Where each statement was first written, across files in load order.
    pub order: DocumentOrder,
}

/// The position of every statement in the files as read. RDF has no order among the values of a
/// predicate, but RDF-Connect hands repeated values to processors in the order the file wrote
/// them, and processors rely on it.
#[derive(Default)]
pub struct DocumentOrder(HashMap<Triple, usize>);

impl DocumentOrder {
    /// Records the `n`th statement of source `index` (large imports are inserted after the files
    /// they import, so positions are given, not counted).
    fn add(&mut self, triple: Triple, index: usize, n: usize) {
        let position = (index << 40) | n;
        self.0.entry(triple).and_modify(|p| *p = (*p).min(position)).or_insert(position);
    }

    /// The position of `subject predicate object`; statements never read (inferred, or from the
    /// plan graph) come last.
    pub fn of(&self, subject: &Term, predicate: &NamedNode, object: &Term) -> usize {
        let subject = match subject {
            Term::NamedNode(n) => NamedOrBlankNode::NamedNode(n.clone()),
            Term::BlankNode(b) => NamedOrBlankNode::BlankNode(b.clone()),
            _ => return usize::MAX,
        };
        self.0.get(&Triple::new(subject, predicate.clone(), object.clone())).copied().unwrap_or(usize::MAX)
    }
}

pub fn format_of(path: &Path) -> Option<RdfFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "ttl" | "turtle" => RdfFormat::Turtle,
        "trig" => RdfFormat::TriG,
        "nt" | "ntriples" => RdfFormat::NTriples,
        "nq" | "nquads" => RdfFormat::NQuads,
        "rdf" | "owl" | "xml" => RdfFormat::RdfXml,
        "jsonld" | "json" => RdfFormat::JsonLd { profile: JsonLdProfileSet::empty() },
        "n3" => RdfFormat::N3,
        _ => return None,
    })
}

/// Loads `path`, its imports (recursively, cycles tolerated) and the bundled files.
pub fn load(path: &Path) -> Loaded {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    load_into(absolute, true)
}

/// Only the bundled ontology and runner descriptions, as if for an empty pipeline in the current
/// folder.
pub fn load_bundled() -> Loaded {
    let folder = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    load_into(folder.join("(none)"), false)
}

fn load_into(absolute: PathBuf, read_pipeline: bool) -> Loaded {
    let store = Store::new().expect("an in-memory store cannot fail to open");
    let names = Names::new(fileurl::folder_of(&absolute));
    let graph = NamedNode::new_unchecked(fileurl::from_path(&absolute));
    let mut loader = Loader {
        store,
        names,
        sources: Vec::new(),
        problems: Vec::new(),
        notices: Vec::new(),
        seen: HashSet::new(),
        order: DocumentOrder::default(),
        connectivity: Connectivity::default(),
        large: Vec::new(),
    };
    for file in bundled::FILES {
        loader.insert_text(file.path, file.text);
    }
    if read_pipeline {
        loader.load_file(&absolute, None);
        loader.insert_large();
    }
    let Loader { store, names, sources, problems, notices, order, .. } = loader;
    Loaded { store, path: absolute, graph, names, sources, problems, notices, order }
}

struct Loader {
    store: Store,
    names: Names,
    sources: Vec<NamedNode>,
    problems: Vec<Problem>,
    notices: Vec<Problem>,
    seen: HashSet<PathBuf>,
    order: DocumentOrder,
    connectivity: Connectivity,
    /// Large imports, surveyed but not yet inserted.
    large: Vec<LargeImport>,
}

/// An import over [`relevance::WHOLE_FILE_BYTES`], read once to learn how its nodes connect and
/// read again, once every file is in, to insert what is connected to the pipeline.
struct LargeImport {
    graph: NamedNode,
    index: usize,
    format: RdfFormat,
    text: Vec<u8>,
    shown: String,
}

/// What a file's statements are used for as they are parsed.
enum Use<'a> {
    /// Inserted (files kept whole).
    Insert(&'a NamedNode),
    /// Only their connections noted (the first reading of a large import).
    Survey,
    /// Inserted when connected to a kept node (the second reading of a large import).
    InsertConnected(&'a NamedNode),
}

/// What parsing a file gave.
#[derive(Default)]
struct Parsed {
    statements: usize,
    inserted: usize,
    /// The objects of its `owl:imports` statements, in the order written.
    imports: Vec<String>,
}

impl Loader {
    fn insert_text(&mut self, path: &str, text: &str) {
        let graph = NamedNode::new_unchecked(format!("{}{path}", bundled::GRAPH_PREFIX));
        let parser = RdfParser::from_format(RdfFormat::Turtle)
            .with_base_iri(graph.as_str())
            .expect("bundled graph names are valid IRIs");
        let index = self.sources.len();
        self.sources.push(graph.clone());
        let (_, failure) = self.parse(parser.for_slice(text), index, Use::Insert(&graph), false);
        if let Some(problem) = failure {
            // A broken bundled file is a bug in Riffle; say so loudly rather than run without it.
            panic!("bundled {path} does not parse: {problem}");
        }
    }

    /// Reads one file and, depth first, everything it imports. An explicit stack instead of
    /// recursion: a chain of thousands of imports must not overflow the thread's stack.
    fn load_file(&mut self, path: &Path, importer: Option<(NamedNode, String)>) {
        let mut pending = vec![(path.to_path_buf(), importer)];
        while let Some((path, importer)) = pending.pop() {
            let importer = importer.as_ref().map(|(g, i)| (g, i.as_str()));
            let Some((graph, imports)) = self.read_file(&path, importer) else { continue };
            // Reversed, so that imports are read in the same order a recursive walk would read them.
            for import in self.imports_of(&graph, imports).into_iter().rev() {
                pending.push(import);
            }
        }
    }

    /// Reads one file into its own graph, with what it imports; None when it was read before or
    /// could not be read. `importer` is the file that imported it, which is where a missing file is
    /// reported. A large import is only surveyed here (see [`Loader::insert_large`]).
    fn read_file(&mut self, path: &Path, importer: Option<(&NamedNode, &str)>) -> Option<(NamedNode, Vec<String>)> {
        // An import into `.venv/lib/python3.13/...` of an environment made with another Python.
        let other = if path.exists() { None } else { crate::venv::other_python(path) };
        let path = other.as_deref().unwrap_or(path);
        if !self.seen.insert(path.to_path_buf()) {
            return None;
        }
        let url = fileurl::from_path(path);
        let blame = |kind: ProblemKind, names: &Names| match importer {
            Some((graph, import)) => Problem::new(kind)
                .in_file(Some(names.file(graph.as_str())))
                .predicate("owl:imports")
                .subject(import.to_string()),
            None => Problem::new(kind),
        };
        let shown = self.names.file(&url);
        if path.is_dir() {
            let problem = blame(ProblemKind::ImportIsFolder { import: shown }, &self.names);
            self.problems.push(problem);
            return None;
        }
        // Only regular files: a FIFO or /dev/zero (or a link to one) would block or never end.
        if let Ok(metadata) = std::fs::metadata(path) {
            let kind = metadata.file_type();
            if !kind.is_file() {
                use std::os::unix::fs::FileTypeExt;
                let kind = if kind.is_fifo() {
                    "a named pipe (FIFO)"
                } else if kind.is_char_device() || kind.is_block_device() {
                    "a device"
                } else if kind.is_socket() {
                    "a socket"
                } else {
                    "not a file"
                };
                let problem = blame(ProblemKind::NotARegularFile { path: shown, kind: kind.into() }, &self.names);
                self.problems.push(problem);
                return None;
            }
            let limit = max_file_size();
            if metadata.len() > limit {
                let kind = ProblemKind::FileTooLarge { path: shown, size: metadata.len(), limit };
                self.problems.push(blame(kind, &self.names));
                return None;
            }
        }
        let text = match std::fs::read(path) {
            Ok(text) => text,
            // A dangling link or a loop of links: the OS message alone ("too many levels of
            // symbolic links") does not say which link to fix.
            Err(e) if path.is_symlink() => {
                let problem = blame(ProblemKind::BrokenLink { path: shown, reason: e.to_string() }, &self.names);
                self.problems.push(problem);
                return None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && importer.is_some() => {
                let problem = blame(ProblemKind::MissingImport { import: shown }, &self.names);
                self.problems.push(problem);
                return None;
            }
            Err(e) => {
                let problem = blame(ProblemKind::Unreadable { path: shown, reason: e.to_string() }, &self.names);
                self.problems.push(problem);
                return None;
            }
        };
        let Some(format) = format_of(path) else {
            let problem = blame(ProblemKind::UnknownFormat { path: shown }, &self.names);
            self.problems.push(problem);
            return None;
        };
        // Editors on Windows start UTF-8 files with a byte order mark; RDF parsers do not expect it.
        let text = text.strip_prefix(UTF8_BOM).unwrap_or(&text);
        if let Err(problem) = check_text(text, &shown) {
            self.problems.push(problem.in_file(Some(shown)));
            return None;
        }
        if matches!(format, RdfFormat::JsonLd { .. }) {
            if let Err(problem) = check_json_depth(text, &shown) {
                self.problems.push(problem.in_file(Some(shown)));
                return None;
            }
        }
        let graph = NamedNode::new_unchecked(url.clone());
        let parser = match RdfParser::from_format(format).with_base_iri(url.as_str()) {
            Ok(parser) => parser,
            Err(e) => {
                let problem = blame(ProblemKind::Unreadable { path: shown, reason: e.to_string() }, &self.names);
                self.problems.push(problem);
                return None;
            }
        };
        let index = self.sources.len();
        self.sources.push(graph.clone());
        let large = importer.is_some() && text.len() > relevance::WHOLE_FILE_BYTES;
        let usage = if large { Use::Survey } else { Use::Insert(&graph) };
        let (parsed, failure) = self.parse(parser.for_slice(text), index, usage, true);
        if let Some(problem) = failure {
            // Statements before the error stay loaded: later checks then report what they can.
            self.problems.push(problem.in_file(Some(shown.clone())));
        } else if parsed.statements == 0 && importer.is_none() {
            // Nothing later could be found in it; say why here instead of "no processors".
            let json = matches!(format, RdfFormat::JsonLd { .. });
            self.problems.push(
                Problem::new(ProblemKind::NoStatements { path: shown.clone(), json }).in_file(Some(shown.clone())),
            );
        }
        if large {
            self.large.push(LargeImport { graph: graph.clone(), index, format, text: text.to_vec(), shown });
        }
        Some((graph, parsed.imports))
    }

    /// The second reading of every large import, once all files are in and it is known which of
    /// their nodes connect to the pipeline.
    fn insert_large(&mut self) {
        if self.large.is_empty() {
            return;
        }
        // Only now, and only with a large import, are the files kept whole walked for their nodes.
        let large: HashSet<&NamedNode> = self.large.iter().map(|l| &l.graph).collect();
        for graph in self.sources.iter().filter(|g| !large.contains(g)) {
            for quad in self.store.quads_for_pattern(None, None, None, Some(graph.as_ref().into())).flatten() {
                self.connectivity.seed(&quad.subject, &quad.object);
            }
        }
        for large in std::mem::take(&mut self.large) {
            let parser = RdfParser::from_format(large.format)
                .with_base_iri(large.graph.as_str())
                .expect("the base IRI was accepted on the first reading");
            // A syntax error was reported on the first reading; this one stops at the same place.
            let (parsed, _) =
                self.parse(parser.for_slice(&large.text), large.index, Use::InsertConnected(&large.graph), false);
            let set_aside = parsed.statements - parsed.inserted;
            if set_aside > 0 {
                let kind = ProblemKind::UnconnectedStatements {
                    path: large.shown.clone(),
                    set_aside,
                    statements: parsed.statements,
                };
                self.notices.push(Problem::new(kind).in_file(Some(large.shown)));
            }
        }
    }

    /// Parses a file's statements and uses them as `usage` says, relabelling blank nodes in
    /// document order so that plans, snapshots and messages come out the same on every run (and
    /// both readings of a large import name them alike). The author's prefixes (`learn_prefixes`)
    /// are remembered to print IRIs as they wrote them. Statements before a syntax error are used.
    fn parse(
        &mut self,
        mut quads: SliceQuadParser<'_>,
        index: usize,
        usage: Use<'_>,
        learn_prefixes: bool,
    ) -> (Parsed, Option<Box<Problem>>) {
        let mut labels: HashMap<BlankNode, BlankNode> = HashMap::new();
        let mut relabel = |b: BlankNode| -> BlankNode {
            let next = labels.len();
            labels.entry(b).or_insert_with(|| BlankNode::new_unchecked(format!("f{index}b{next}"))).clone()
        };
        let mut parsed = Parsed::default();
        let mut batch = Vec::new();
        let mut failure = None;
        for quad in quads.by_ref() {
            let quad = match quad.map_err(RdfParseError::from) {
                Ok(quad) => quad,
                Err(error) => {
                    failure = Some(Box::new(syntax_problem(error)));
                    break;
                }
            };
            let subject = match quad.subject {
                NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(relabel(b)),
                other => other,
            };
            let object = match quad.object {
                Term::BlankNode(b) => Term::BlankNode(relabel(b)),
                other => other,
            };
            let n = parsed.statements;
            parsed.statements += 1;
            if quad.predicate.as_str() == vocab::iri::OWL_IMPORTS {
                if let Term::NamedNode(import) = &object {
                    parsed.imports.push(import.as_str().to_owned());
                }
            }
            let graph = match usage {
                Use::Survey => {
                    self.connectivity.connect(&subject, &object);
                    continue;
                }
                Use::Insert(graph) => graph,
                Use::InsertConnected(graph) => {
                    if !self.connectivity.keeps(&subject) {
                        continue;
                    }
                    graph
                }
            };
            parsed.inserted += 1;
            self.order.add(Triple::new(subject.clone(), quad.predicate.clone(), object.clone()), index, n);
            // Also in the default graph: it is then the set union of all files, which a union view
            // over named graphs is not (it repeats a triple two files share).
            batch.push(Quad::new(subject.clone(), quad.predicate.clone(), object.clone(), GraphName::DefaultGraph));
            batch.push(Quad::new(subject, quad.predicate, object, GraphName::NamedNode(graph.clone())));
            if batch.len() >= INSERT_BATCH {
                self.store.extend(batch.drain(..)).expect("an in-memory store accepts every quad");
            }
        }
        self.store.extend(batch).expect("an in-memory store accepts every quad");
        if learn_prefixes {
            for (prefix, namespace) in quads.prefixes() {
                self.names.learn(prefix, namespace);
            }
        }
        (parsed, failure)
    }

    /// The local files `graph` imports, sorted, each with the importing graph and the import as
    /// shown; remote imports are reported here.
    fn imports_of(
        &mut self,
        graph: &NamedNode,
        mut imports: Vec<String>,
    ) -> Vec<(PathBuf, Option<(NamedNode, String)>)> {
        imports.sort();
        imports.dedup();
        let mut local = Vec::new();
        for import in imports {
            if BUNDLED_NAMESPACES.iter().any(|ns| import.starts_with(ns)) {
                continue;
            }
            let shown = self.names.iri(&import);
            match fileurl::to_path(&import) {
                Some(path) => local.push((path, Some((graph.clone(), shown)))),
                None => {
                    let problem = Problem::new(ProblemKind::RemoteImport { import: shown.clone() })
                        .in_file(Some(self.names.file(graph.as_str())))
                        .subject(shown)
                        .predicate("owl:imports");
                    self.problems.push(problem);
                }
            }
        }
        local
    }
}

/// The deepest nesting of JSON objects and arrays read as JSON-LD. The JSON-LD parser recurses
/// once per level: a few thousand levels overflow a thread's stack, which aborts the process.
/// Real pipelines nest a handful of levels.
pub const MAX_JSON_DEPTH: usize = 100;

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`], at the bracket that goes too deep. Only
/// brackets outside strings count; syntax errors are left to the parser.
fn check_json_depth(text: &[u8], shown: &str) -> Result<(), Box<Problem>> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1u64, 0usize);
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            if b == b'\n' {
                (line, line_start) = (line + 1, i + 1);
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    let column = String::from_utf8_lossy(&text[line_start..i]).chars().count() as u64 + 1;
                    let kind = ProblemKind::JsonTooDeep { path: shown.to_string(), limit: MAX_JSON_DEPTH };
                    return Err(Box::new(Problem::new(kind).at(line, column)));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'\n' => (line, line_start) = (line + 1, i + 1),
            _ => {}
        }
    }
    Ok(())
}

/// Quads inserted at a time, so that a large file is never held twice over as quads.
const INSERT_BATCH: usize = 1 << 16;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The largest file read, in bytes: 1 GiB, or `RIFFLE_MAX_FILE_SIZE`.
fn max_file_size() -> u64 {
    std::env::var("RIFFLE_MAX_FILE_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 30)
}

/// RDF files are UTF-8 text. Anything else gets a problem that says what the file looks like
/// instead of a parser's complaint about its first byte.
fn check_text(bytes: &[u8], shown: &str) -> Result<(), Box<Problem>> {
    let Err(error) = std::str::from_utf8(bytes) else { return Ok(()) };
    let found = if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        "UTF-16 text".to_string()
    } else if bytes.starts_with(b"\x89PNG") {
        "a PNG image".to_string()
    } else if bytes.starts_with(b"%PDF") {
        "a PDF document".to_string()
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a ZIP archive".to_string()
    } else if bytes.starts_with(&[0x1F, 0x8B]) {
        "a gzip archive".to_string()
    } else if bytes.contains(&0) {
        "binary data".to_string()
    } else {
        format!("text in another encoding (byte 0x{:02X} is not UTF-8)", bytes[error.valid_up_to()])
    };
    let valid = &bytes[..error.valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() as u64 + 1;
    Err(Box::new(Problem::new(ProblemKind::NotText { path: shown.to_string(), found }).at(line, column)))
}

fn syntax_problem(error: RdfParseError) -> Problem {
    match error {
        RdfParseError::Syntax(error) => {
            let location = error.location();
            let message = error.to_string();
            // The parser's own message repeats the position; keep just what went wrong.
            let message = strip_position(&message);
            let problem = Problem::new(ProblemKind::Syntax { message });
            match location {
                Some(range) => problem.at(range.start.line + 1, range.start.column + 1),
                None => problem,
            }
        }
        RdfParseError::Io(error) => Problem::new(ProblemKind::Syntax { message: error.to_string() }),
    }
}

fn strip_position(message: &str) -> String {
    // oxttl prints "Parser error at line 3 column 5: <message>" or "... between ... and ...: <message>".
    if message.starts_with("Parser error") {
        if let Some((_, rest)) = message.split_once(": ") {
            return rest.to_string();
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_counts_brackets_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        assert!(check_json_depth(deep.as_bytes(), "x.jsonld").is_ok());
        let quoted = format!("{{\"a\": \"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(check_json_depth(quoted.as_bytes(), "x.jsonld").is_ok());
        let too_deep = format!("{{\n  \"a\": {}", "[".repeat(MAX_JSON_DEPTH));
        let problem = check_json_depth(too_deep.as_bytes(), "x.jsonld").unwrap_err();
        assert_eq!(problem.kind, ProblemKind::JsonTooDeep { path: "x.jsonld".into(), limit: MAX_JSON_DEPTH });
        assert_eq!(problem.position, Some((2, 8 + MAX_JSON_DEPTH as u64 - 1)));
    }

    #[test]
    fn text_that_is_not_utf8_says_what_it_looks_like_and_where() {
        let problem = check_text(b"<a> <b> \"caf\xE9\".", "x.ttl").unwrap_err();
        assert_eq!(
            problem.to_string().lines().next().unwrap(),
            "error[not-text]: x.ttl is not UTF-8 text: it looks like text in another encoding (byte 0xE9 is not UTF-8)"
        );
        assert_eq!(problem.position, Some((1, 13)));
        assert!(check_text("<é> <b> <c>.".as_bytes(), "x.ttl").is_ok());
    }
}
