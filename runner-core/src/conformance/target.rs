//! Which runner `riffle conformance` checks, and what the kit's pipelines import to use it.

use crate::bundled;
use crate::fileurl;
use crate::loader;
use crate::problem::report;
use crate::runners::{runner_dir, RunnerInfo, Runners};
use std::path::{Path, PathBuf};

/// The runner under test.
#[derive(Debug, Clone)]
pub struct Target {
    pub iri: String,
    /// What to call it in the output: its label, else its IRI.
    pub label: String,
    /// Files every kit pipeline imports: the runner's description when it is not bundled, and the
    /// `conformance.ttl` next to it.
    pub imports: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{path}: cannot be loaded:\n{problems}")]
    Unloadable { path: String, problems: String },
    #[error("{path} describes no runner (nothing with riffle:argv or rdfc:command): give the runner.ttl of the runner to check")]
    NoRunner { path: String },
    #[error("{path} describes {count} runners ({iris}): give a file that describes one")]
    ManyRunners { path: String, count: usize, iris: String },
    #[error(
        "no bundled runner is called {name:?} (known: {known}); for a runner that is not bundled, give its runner.ttl"
    )]
    Unknown { name: String, known: String },
    #[error("{path} is missing: a runner needs a conformance.ttl next to its runner.ttl that says how it implements the kit's processors (docs/adding-a-runner.md, section 8)")]
    NoConformanceFile { path: String },
}

impl Target {
    /// A `runner.ttl` path, a runner IRI (`https://w3id.org/riffle#JsRunner`, `riffle:JsRunner`), or the
    /// language or short name of a bundled runner (`javascript`, `js`, `java`, `rust`).
    pub fn find(given: &str) -> Result<Target, TargetError> {
        let path = Path::new(given);
        if path.is_file() {
            return Target::from_file(path);
        }
        let loaded = loader::load_bundled();
        let runners = Runners::load(&loaded.store);
        let wanted = given.strip_prefix("riffle:").map(|local| format!("https://w3id.org/riffle#{local}"));
        let lowered = given.to_ascii_lowercase();
        let found = runners.list.iter().find(|runner| {
            let local = runner.iri.as_str().rsplit(['#', '/']).next().unwrap_or_default().to_ascii_lowercase();
            runner.iri.as_str() == given
                || wanted.as_deref() == Some(runner.iri.as_str())
                || runner.language.as_deref() == Some(given)
                || local == lowered
                || local == format!("{lowered}runner")
        });
        let Some(runner) = found else {
            let known: Vec<String> = runners.list.iter().map(RunnerInfo::short_name).collect();
            return Err(TargetError::Unknown { name: given.to_string(), known: known.join(", ") });
        };
        let folder = runner.source.as_ref().map(runner_dir).map(PathBuf::from).unwrap_or_else(bundled::home);
        Target::with_conformance_file(runner, folder, Vec::new())
    }

    fn from_file(path: &Path) -> Result<Target, TargetError> {
        let shown = path.display().to_string();
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let loaded = loader::load(&absolute);
        if !loaded.problems.is_empty() {
            return Err(TargetError::Unloadable { path: shown, problems: report(&loaded.problems) });
        }
        let graph = fileurl::from_path(&absolute);
        let runners = Runners::load(&loaded.store);
        let described: Vec<&RunnerInfo> =
            runners.list.iter().filter(|r| r.source.as_ref().is_some_and(|s| s.as_str() == graph)).collect();
        match described.as_slice() {
            [] => Err(TargetError::NoRunner { path: shown }),
            [runner] => {
                let folder = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
                // A bundled runner's own file is already known to every pipeline; importing it again
                // would describe the runner twice.
                let bundled = runners_bundled_iris().contains(&runner.iri.as_str().to_string());
                let imports = if bundled { Vec::new() } else { vec![absolute.clone()] };
                Target::with_conformance_file(runner, folder, imports)
            }
            many => Err(TargetError::ManyRunners {
                path: shown,
                count: many.len(),
                iris: many.iter().map(|r| r.iri.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    fn with_conformance_file(
        runner: &RunnerInfo,
        folder: PathBuf,
        mut imports: Vec<PathBuf>,
    ) -> Result<Target, TargetError> {
        let conformance = folder.join("conformance.ttl");
        if !conformance.is_file() {
            return Err(TargetError::NoConformanceFile { path: conformance.display().to_string() });
        }
        imports.push(conformance);
        Ok(Target {
            iri: runner.iri.as_str().to_string(),
            label: runner.label.clone().unwrap_or_else(|| runner.iri.as_str().to_string()),
            imports,
        })
    }
}

fn runners_bundled_iris() -> Vec<String> {
    let loaded = loader::load_bundled();
    Runners::load(&loaded.store).list.iter().map(|r| r.iri.as_str().to_string()).collect()
}
