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
    /// `riffle:versionArgv`, `{runnerDir}` replaced: what prints the version of the interpreter the
    /// runner will run under (`node --version`); empty when the description has none.
    pub version_argv: Vec<String>,
    /// `riffle:minimumVersion`: the lowest version `version_argv` may print ("20", "3.11").
    pub minimum_version: Option<String>,
    /// `riffle:installHint`: how to install the program, for reports.
    pub install_hint: Option<String>,
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
            let strings = |list: &Term| -> Vec<String> {
                list_items(store, list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| match t {
                        Term::Literal(l) => Some(l.value().replace("{runnerDir}", &runner_dir)),
                        _ => None,
                    })
                    .collect()
            };
            let argv = match row.get("argv") {
                Some(list) => strings(list),
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
                version_argv: row.get("versionArgv").map(strings).unwrap_or_default(),
                minimum_version: text("minimumVersion"),
                install_hint: text("installHint"),
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

/// Finds a runner's program: a path with a `/` relative to the pipeline's folder, else next to the
/// `riffle` executable (a distribution's `bin/`, where `cargo build` puts the Rust runner: riffle
/// and its own runner come as one), else on PATH.
pub fn find_program(program: &str, working_dir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let path = working_dir.join(program);
        return path.is_file().then_some(path);
    }
    if let Some(beside) = beside_riffle().map(|dir| dir.join(program)).filter(|p| p.is_file()) {
        return Some(beside);
    }
    which::which(program).ok()
}

/// The folder of the `riffle` executable, symbolic links resolved.
pub fn beside_riffle() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    exe.parent().map(Path::to_path_buf)
}

/// Something a runner needs that is missing, found before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// An argument of its argv that is an absolute path (its script, its jar) does not exist.
    File { path: String },
    /// The interpreter is older than `riffle:minimumVersion`.
    OldVersion { program: String, found: String, minimum: String },
    /// `riffle:versionArgv` could not be run, failed or printed no version.
    UnknownVersion { command: String, output: String },
}

impl Missing {
    /// The problem to report, `shown` being how reports name the runner.
    pub fn kind(&self, runner: &RunnerInfo, shown: String) -> crate::problem::ProblemKind {
        use crate::problem::ProblemKind;
        match self.clone() {
            Missing::File { path } => {
                ProblemKind::RunnerFileMissing { runner: shown, path, home: bundled::locate().describe() }
            }
            Missing::OldVersion { program, found, minimum } => ProblemKind::RunnerVersionTooOld {
                runner: shown,
                program,
                found,
                minimum,
                hint: runner.install_hint.clone(),
            },
            Missing::UnknownVersion { command, output } => {
                ProblemKind::RunnerVersionUnknown { runner: shown, command, output, hint: runner.install_hint.clone() }
            }
        }
    }
}

/// What [`check`] found: the interpreter it will run under (the first line `riffle:versionArgv`
/// printed) and what is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    pub interpreter: Option<String>,
    pub missing: Vec<Missing>,
}

/// Only the files a runner's argv names: what `riffle run` checks, since asking an interpreter its
/// version costs 30 to 300 ms of every start (`riffle validate` and `riffle runners` ask it).
pub fn check_files(runner: &RunnerInfo, _working_dir: &Path) -> Readiness {
    let mut readiness = Readiness::default();
    for arg in runner.argv.iter().skip(1) {
        if !arg.starts_with('-') && Path::new(arg).is_absolute() && !Path::new(arg).exists() {
            readiness.missing.push(Missing::File { path: arg.clone() });
        }
    }
    readiness
}

/// Checks the whole runner, its program already found: every file its argv names by absolute path
/// exists (flags such as `-XX:SharedArchiveFile=...` are options, not needed files), and the
/// interpreter's version, asked in the pipeline's folder (where the Python runner picks its
/// environment), is at least the minimum.
pub fn check(runner: &RunnerInfo, working_dir: &Path) -> Readiness {
    let mut readiness = check_files(runner, working_dir);
    if !readiness.missing.is_empty() {
        return readiness;
    }
    let Some((program, args)) = runner.version_argv.split_first() else { return readiness };
    let command = runner.version_argv.join(" ");
    let output = find_program(program, working_dir).ok_or_else(|| format!("{program} is not found")).and_then(|path| {
        std::process::Command::new(path)
            .args(args)
            .current_dir(working_dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| e.to_string())
    });
    let output = match output {
        Ok(output) => {
            let text =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            if !output.status.success() {
                let said = text.trim().lines().last().unwrap_or("").to_string();
                Err(format!("exit {}: {said}", output.status.code().map_or("by signal".into(), |c| c.to_string())))
            } else {
                Ok(text)
            }
        }
        Err(e) => Err(e),
    };
    let text = match output {
        Ok(text) => text,
        Err(output) => {
            readiness.missing.push(Missing::UnknownVersion { command, output });
            return readiness;
        }
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("Picked up ") && !l.trim().is_empty()).collect();
    readiness.interpreter = lines.first().map(|l| l.trim().to_string());
    let Some(found) = lines.iter().find_map(|l| version_in(l)) else {
        let output = readiness.interpreter.clone().unwrap_or_default();
        readiness.missing.push(Missing::UnknownVersion { command, output });
        return readiness;
    };
    if let Some(minimum) = &runner.minimum_version {
        if older(&found, minimum) {
            readiness.missing.push(Missing::OldVersion { program: program.clone(), found, minimum: minimum.clone() });
        }
    }
    readiness
}

/// The first dotted number in a line: `20.20.2` in `v20.20.2`, `17.0.15` in `openjdk version "17.0.15"`.
pub fn version_in(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'v') {
            let end =
                bytes[i..].iter().position(|b| !(b.is_ascii_digit() || *b == b'.')).map_or(bytes.len(), |n| i + n);
            let candidate = line[i..end].trim_end_matches('.');
            if candidate.contains('.') {
                return Some(candidate.to_string());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    None
}

/// Whether version `found` is below `minimum`, number by number (`3.9` < `3.11`, `20.20.2` >= `20`).
pub fn older(found: &str, minimum: &str) -> bool {
    let numbers = |v: &str| -> Vec<u64> { v.split('.').map(|n| n.parse().unwrap_or(0)).collect() };
    let (found, minimum) = (numbers(found), numbers(minimum));
    for (i, want) in minimum.iter().enumerate() {
        let have = found.get(i).copied().unwrap_or(0);
        if have != *want {
            return have < *want;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_interpreters_print() {
        assert_eq!(version_in("v20.20.2").as_deref(), Some("20.20.2"));
        assert_eq!(version_in("openjdk version \"17.0.15\" 2025-04-15").as_deref(), Some("17.0.15"));
        assert_eq!(version_in("java version \"1.8.0_401\"").as_deref(), Some("1.8.0"));
        assert_eq!(version_in("Python 3.11.7 /usr/bin/python3").as_deref(), Some("3.11.7"));
        assert_eq!(version_in("-Xmx512m x86_64"), None);
    }

    #[test]
    fn versions_compare_number_by_number() {
        assert!(!older("20.20.2", "20"));
        assert!(older("18.19.0", "20"));
        assert!(older("3.9.18", "3.11"));
        assert!(!older("3.12.1", "3.11"));
        assert!(older("1.8.0", "17"));
        assert!(!older("21", "17"));
    }
}
