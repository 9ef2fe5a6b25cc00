//! `riffle runners`: every runner the bundled files (or a pipeline) describe, and whether each is ready.

use super::{refused, resolved};
use riffle_core::runners::{find_program, Runners};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(pipeline: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let (store, names, dir) = match &pipeline {
        Some(path) => {
            let resolution = resolved(path)?;
            if let Some(code) = refused(&resolution.loaded.problems) {
                return Ok(code);
            }
            let dir = resolution.plan.working_dir.clone();
            (resolution.loaded.store, resolution.loaded.names, PathBuf::from(dir))
        }
        None => {
            let loaded = riffle_core::loader::load_bundled();
            (loaded.store, loaded.names, std::env::current_dir()?)
        }
    };
    let runners = Runners::load(&store);
    // Every runner is checked at once: asking an interpreter its version takes a while.
    let checks: Vec<(Option<PathBuf>, riffle_core::runners::Readiness)> = std::thread::scope(|scope| {
        let handles: Vec<_> = runners
            .list
            .iter()
            .map(|runner| {
                let dir = &dir;
                scope.spawn(move || {
                    let program = runner.argv.first().cloned().unwrap_or_default();
                    let found = find_program(&program, dir);
                    let readiness =
                        if found.is_some() { riffle_core::runners::check(runner, dir) } else { Default::default() };
                    (found, readiness)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut out = stdout.lock();
    writeln!(out, "runner files: {}", riffle_core::bundled::locate().describe())?;
    for (runner, (found, readiness)) in runners.list.iter().zip(checks) {
        let program = runner.argv.first().cloned().unwrap_or_default();
        writeln!(out, "{}  {}", names.iri(runner.iri.as_str()), runner.label.clone().unwrap_or_default())?;
        let handles: Vec<String> = runner
            .subjects_of
            .iter()
            .map(|p| format!("subjects of {}", names.iri(p.as_str())))
            .chain(runner.instances_of.iter().map(|m| format!("instances of {}", names.iri(m.as_str()))))
            .collect();
        writeln!(out, "  handles:  {}", if handles.is_empty() { "nothing".into() } else { handles.join(", ") })?;
        if !runner.replaces.is_empty() {
            let replaced: Vec<String> = runner.replaces.iter().map(|r| names.iri(r.as_str())).collect();
            writeln!(out, "  replaces: {}", replaced.join(", "))?;
        }
        writeln!(out, "  argv:     {}", serde_json::to_string(&runner.argv)?)?;
        let shown = names.iri(runner.iri.as_str());
        let mut problems: Vec<riffle_core::problem::ProblemKind> = Vec::new();
        match &found {
            Some(path) => writeln!(out, "  program:  {} (found: {})", program, path.display())?,
            None => {
                writeln!(out, "  program:  {} (NOT FOUND beside riffle or on PATH)", program)?;
                problems.push(riffle_core::problem::ProblemKind::ProgramNotFound {
                    runner: shown.clone(),
                    program: program.clone(),
                    hint: runner.install_hint.clone(),
                });
            }
        }
        if let Some(interpreter) = &readiness.interpreter {
            let needs = runner.minimum_version.as_ref().map(|m| format!(" (needs {m} or later)")).unwrap_or_default();
            writeln!(out, "  version:  {interpreter}{needs}")?;
        }
        problems.extend(readiness.missing.iter().map(|m| m.kind(runner, shown.clone())));
        if problems.is_empty() {
            writeln!(out, "  ready:    yes")?;
        }
        for problem in &problems {
            writeln!(out, "  NOT READY: {problem}\n    fix: {}", problem.help())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
