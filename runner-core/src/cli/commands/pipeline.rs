//! `riffle validate`, `riffle plan` and `riffle graph`: a pipeline resolved, then checked, written as the
//! plan's JSON, or drawn.

use super::{refused, resolved};
use anyhow::Context;
use riffle_core::drawing::{self, DrawingFormat};
use riffle_core::problem::{Problem, Severity};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn validate(pipeline: &Path, verbose: bool) -> anyhow::Result<ExitCode> {
    let resolution = resolved(pipeline)?;
    if let Some(code) = refused(&resolution.problems) {
        return Ok(code);
    }
    eprint!("{}", notices(&resolution.notices, verbose));
    println!("{}", resolution.plan.summary());
    Ok(ExitCode::SUCCESS)
}

pub fn plan(pipeline: &Path, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let resolution = resolved(pipeline)?;
    if let Some(code) = refused(&resolution.problems) {
        return Ok(code);
    }
    let json = serde_json::to_string_pretty(&resolution.plan)? + "\n";
    match output {
        Some(path) => std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(json.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn graph(pipeline: &Path, format: DrawingFormat) -> anyhow::Result<ExitCode> {
    let resolution = resolved(pipeline)?;
    if let Some(code) = refused(&resolution.problems) {
        return Ok(code);
    }
    print!("{}", drawing::draw(&resolution.plan, &resolution.loaded.names, format));
    Ok(ExitCode::SUCCESS)
}

/// Warnings, and with `verbose` notes, each as the problem report prints it.
fn notices(found: &[Problem], verbose: bool) -> String {
    found.iter().filter(|n| verbose || n.kind.severity() == Severity::Warning).map(|n| format!("{n}\n\n")).collect()
}
