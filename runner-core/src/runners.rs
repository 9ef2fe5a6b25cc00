//! Runner descriptions, bundled (`runners/<lang>/runner.ttl`) or declared by the pipeline, and how
//! a processor class finds the runner for its language.

use crate::bundled;
use crate::classes::{types_of, Classes};
use crate::fileurl;
use crate::graph_walk::{as_subject, list_items, objects};
use crate::queries;
use crate::vocab::iri;

use oxigraph::model::{NamedNode, Term};
use oxigraph::store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RunnerInfo {
    pub iri: NamedNode,
    pub label: Option<String>,
    pub language: Option<String>,
    /// The argv that starts it, `{runnerDir}` already replaced. Empty when the description says
    /// neither `riffle:argv` nor `rdfc:command`.
    pub argv: Vec<String>,
    pub subjects_of: Vec<NamedNode>,
    pub instances_of: Vec<NamedNode>,
    pub implementation_shapes: Vec<Term>,
    pub replaces: Vec<NamedNode>,
    /// Transports beyond memory, TCP and WebSocket that it implements (`riffle:File`, `riffle:Http`).
    pub transports: Vec<NamedNode>,
    /// The graph (file) that describes it.
    pub source: Option<NamedNode>,
}

impl RunnerInfo {
    /// Whether this runner runs processors of class `class`.
    pub fn handles(&self, store: &Store, classes: &Classes, class: &NamedNode) -> bool {
        let class_term = Term::NamedNode(class.clone());
        self.subjects_of.iter().any(|p| !objects(store, &class_term, p.as_str()).is_empty())
            || types_of(store, &class_term)
                .iter()
                .any(|t| self.instances_of.iter().any(|m| classes.is_a(t, m.as_str())))
    }

    /// A short name for instances of this runner: its language, else its IRI's local name.
    pub fn short_name(&self) -> String {
        if let Some(language) = &self.language {
            return language.clone();
        }
        let iri = self.iri.as_str();
        let local = iri.rsplit(['#', '/']).next().filter(|s| !s.is_empty()).unwrap_or("runner");
        local.to_ascii_lowercase()
    }
}

#[derive(Default)]
pub struct Runners {
    pub list: Vec<RunnerInfo>,
    /// RDF-Connect runner IRIs that a Riffle runner stands in for.
    aliases: HashMap<NamedNode, NamedNode>,
}

impl Runners {
    pub fn load(store: &Store) -> Runners {
        let mut by_iri: HashMap<NamedNode, RunnerInfo> = HashMap::new();
        for row in queries::RUNNERS.select(store, &[]) {
            let Some(Term::NamedNode(runner)) = row.get("runner") else { continue };
            let text = |var: &str| match row.get(var) {
                Some(Term::Literal(l)) => Some(l.value().to_string()),
                _ => None,
            };
            let source = source_of(store, runner);
            let runner_dir = source.as_ref().map(runner_dir).unwrap_or_default();
            let argv = match row.get("argv") {
                Some(list) => list_items(store, list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| match t {
                        Term::Literal(l) => Some(l.value().replace("{runnerDir}", &runner_dir)),
                        _ => None,
                    })
                    .collect(),
                // RDF-Connect's command is one string; Riffle splits it on spaces and never hands
                // it to a shell.
                None => text("command").map(|c| c.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
            };
            by_iri.entry(runner.clone()).or_insert(RunnerInfo {
                iri: runner.clone(),
                label: text("label"),
                language: text("language"),
                argv,
                subjects_of: Vec::new(),
                instances_of: Vec::new(),
                implementation_shapes: Vec::new(),
                replaces: Vec::new(),
                transports: Vec::new(),
                source,
            });
        }
        for row in queries::RUNNER_LINKS.select(store, &[]) {
            let (Some(Term::NamedNode(runner)), Some(Term::NamedNode(link)), Some(value)) =
                (row.get("runner"), row.get("link"), row.get("value"))
            else {
                continue;
            };
            let Some(info) = by_iri.get_mut(runner) else { continue };
            let named = match value {
                Term::NamedNode(n) => Some(n.clone()),
                _ => None,
            };
            match (link.as_str().rsplit('#').next().unwrap_or(""), named) {
                ("handlesSubjectsOf", Some(n)) => info.subjects_of.push(n),
                ("handlesInstancesOf", Some(n)) => info.instances_of.push(n),
                ("replaces", Some(n)) => info.replaces.push(n),
                ("supportsTransport", Some(n)) => info.transports.push(n),
                ("implementationShape", _) => info.implementation_shapes.push(value.clone()),
                _ => {}
            }
        }
        let mut runners = Runners::default();
        for info in by_iri.values() {
            for replaced in &info.replaces {
                runners.aliases.insert(replaced.clone(), info.iri.clone());
            }
        }
        let mut list: Vec<RunnerInfo> =
            by_iri.into_values().filter(|r| !runners.aliases.contains_key(&r.iri)).collect();
        for info in &mut list {
            info.subjects_of.sort();
            info.instances_of.sort();
            info.replaces.sort();
            info.implementation_shapes.sort_by_key(|t| t.to_string());
        }
        list.sort_by(|a, b| a.iri.cmp(&b.iri));
        runners.list = list;
        runners
    }

    /// The runner an IRI names, following `riffle:replaces` (rdfc:NodeRunner is the JS runner).
    pub fn get(&self, iri: &NamedNode) -> Option<&RunnerInfo> {
        let iri = self.aliases.get(iri).unwrap_or(iri);
        self.list.iter().find(|r| &r.iri == iri)
    }

    pub fn handling<'a>(&'a self, store: &Store, classes: &Classes, class: &NamedNode) -> Vec<&'a RunnerInfo> {
        self.list.iter().filter(|r| r.handles(store, classes, class)).collect()
    }
}

/// The graph that holds a runner's description, preferring the one with its start command.
fn source_of(store: &Store, runner: &NamedNode) -> Option<NamedNode> {
    let runner = Term::NamedNode(runner.clone());
    let subject = as_subject(&runner)?;
    let mut graphs: Vec<NamedNode> = store
        .quads_for_pattern(Some(subject), None, None, None)
        .filter_map(Result::ok)
        .filter(|q| [iri::RIFFLE_ARGV, iri::RDFC_COMMAND].contains(&q.predicate.as_str()))
        .filter_map(|q| match q.graph_name {
            oxigraph::model::GraphName::NamedNode(g) => Some(g),
            _ => None,
        })
        .collect();
    graphs.sort();
    graphs.into_iter().next()
}

/// `{runnerDir}`: the folder of the runner's description; bundled runners live under RIFFLE_HOME.
pub fn runner_dir(graph: &NamedNode) -> String {
    if let Some(bundled) = graph.as_str().strip_prefix(bundled::GRAPH_PREFIX) {
        let file = bundled::home().join(bundled);
        return file.parent().map(|p| p.display().to_string()).unwrap_or_default();
    }
    fileurl::to_path(graph.as_str()).and_then(|p| p.parent().map(|p| p.display().to_string())).unwrap_or_default()
}

/// Finds a runner's program: a path with a `/` relative to the pipeline's folder, else on PATH,
/// else next to the `riffle` executable (where `cargo build` puts the Rust runner).
pub fn find_program(program: &str, working_dir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let path = working_dir.join(program);
        return path.is_file().then_some(path);
    }
    if let Ok(found) = which::which(program) {
        return Some(found);
    }
    let beside = std::env::current_exe().ok()?.parent()?.join(program);
    beside.is_file().then_some(beside)
}
