//! Loading a pipeline file and everything it imports into one in-memory store, one named graph per
//! source file so that every later message can name the file a statement came from.

use crate::bundled;
use crate::fileurl;
use crate::names::Names;
use crate::problem::{Problem, ProblemKind};
use crate::queries;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfParseError, RdfParser, SliceQuadParser};
use oxigraph::model::{BlankNode, GraphName, NamedNode, NamedOrBlankNode, Quad, Term};
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
    let mut loader = Loader { store, names, sources: Vec::new(), problems: Vec::new(), seen: HashSet::new() };
    for file in bundled::FILES {
        loader.insert_text(file.path, file.text);
    }
    if read_pipeline {
        loader.load_file(&absolute, None);
    }
    let Loader { store, names, sources, problems, .. } = loader;
    Loaded { store, path: absolute, graph, names, sources, problems }
}

struct Loader {
    store: Store,
    names: Names,
    sources: Vec<NamedNode>,
    problems: Vec<Problem>,
    seen: HashSet<PathBuf>,
}

impl Loader {
    fn insert_text(&mut self, path: &str, text: &str) {
        let graph = NamedNode::new_unchecked(format!("{}{path}", bundled::GRAPH_PREFIX));
        let parser = RdfParser::from_format(RdfFormat::Turtle)
            .with_base_iri(graph.as_str())
            .expect("bundled graph names are valid IRIs");
        let index = self.sources.len();
        self.sources.push(graph.clone());
        if let Err(problem) = self.insert(parser.for_slice(text), &graph, index, false) {
            // A broken bundled file is a bug in Riffle; say so loudly rather than run without it.
            panic!("bundled {path} does not parse: {problem}");
        }
    }

    /// Reads one file into its own graph, then follows its imports. `importer` is the file that
    /// imported it, which is where a missing file is reported.
    fn load_file(&mut self, path: &Path, importer: Option<(&NamedNode, &str)>) {
        if !self.seen.insert(path.to_path_buf()) {
            return;
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
            return;
        }
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && importer.is_some() => {
                let problem = blame(ProblemKind::MissingImport { import: shown }, &self.names);
                self.problems.push(problem);
                return;
            }
            Err(e) => {
                let problem = blame(ProblemKind::Unreadable { path: shown, reason: e.to_string() }, &self.names);
                self.problems.push(problem);
                return;
            }
        };
        let Some(format) = format_of(path) else {
            let problem = blame(ProblemKind::UnknownFormat { path: shown }, &self.names);
            self.problems.push(problem);
            return;
        };
        let graph = NamedNode::new_unchecked(url.clone());
        let parser = match RdfParser::from_format(format).with_base_iri(url.as_str()) {
            Ok(parser) => parser,
            Err(e) => {
                let problem = blame(ProblemKind::Unreadable { path: shown, reason: e.to_string() }, &self.names);
                self.problems.push(problem);
                return;
            }
        };
        let index = self.sources.len();
        self.sources.push(graph.clone());
        if let Err(problem) = self.insert(parser.for_slice(&text), &graph, index, true) {
            self.problems.push(problem.in_file(Some(shown)));
            // Statements before the error stay loaded: later checks then report what they can.
        }
        self.follow_imports(&graph);
    }

    /// Inserts parsed quads into `graph`, relabelling blank nodes in document order so that plans,
    /// snapshots and messages come out the same on every run.
    /// The author's prefixes (`learn_prefixes`) are remembered to print IRIs as they wrote them.
    fn insert(
        &mut self,
        mut quads: SliceQuadParser<'_>,
        graph: &NamedNode,
        index: usize,
        learn_prefixes: bool,
    ) -> Result<(), Box<Problem>> {
        let mut labels: HashMap<BlankNode, BlankNode> = HashMap::new();
        let mut relabel = |b: BlankNode| -> BlankNode {
            let next = labels.len();
            labels.entry(b).or_insert_with(|| BlankNode::new_unchecked(format!("f{index}b{next}"))).clone()
        };
        let mut batch = Vec::new();
        let mut failure = None;
        for quad in quads.by_ref() {
            match quad.map_err(RdfParseError::from) {
                Ok(quad) => {
                    let subject = match quad.subject {
                        NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(relabel(b)),
                        other => other,
                    };
                    let object = match quad.object {
                        Term::BlankNode(b) => Term::BlankNode(relabel(b)),
                        other => other,
                    };
                    // Also in the default graph: it is then the set union of all files, which a
                    // union view over named graphs is not (it repeats a triple two files share).
                    batch.push(Quad::new(
                        subject.clone(),
                        quad.predicate.clone(),
                        object.clone(),
                        GraphName::DefaultGraph,
                    ));
                    batch.push(Quad::new(subject, quad.predicate, object, GraphName::NamedNode(graph.clone())));
                }
                Err(error) => {
                    failure = Some(syntax_problem(error));
                    break;
                }
            }
        }
        self.store.extend(batch).expect("an in-memory store accepts every quad");
        if learn_prefixes {
            for (prefix, namespace) in quads.prefixes() {
                self.names.learn(prefix, namespace);
            }
        }
        match failure {
            Some(problem) => Err(Box::new(problem)),
            None => Ok(()),
        }
    }

    fn follow_imports(&mut self, graph: &NamedNode) {
        let rows = queries::IMPORTS.select(&self.store, &[("source", graph.clone().into())]);
        let mut imports: Vec<String> = rows
            .iter()
            .filter_map(|row| match row.get("import") {
                Some(Term::NamedNode(n)) => Some(n.as_str().to_string()),
                _ => None,
            })
            .collect();
        imports.sort();
        imports.dedup();
        for import in imports {
            if BUNDLED_NAMESPACES.iter().any(|ns| import.starts_with(ns)) {
                continue;
            }
            let shown = self.names.iri(&import);
            match fileurl::to_path(&import) {
                Some(path) => self.load_file(&path, Some((graph, &shown))),
                None => {
                    let problem = Problem::new(ProblemKind::RemoteImport { import: shown.clone() })
                        .in_file(Some(self.names.file(graph.as_str())))
                        .subject(shown)
                        .predicate("owl:imports");
                    self.problems.push(problem);
                }
            }
        }
    }
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
