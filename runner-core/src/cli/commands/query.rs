//! `riffle query`: SPARQL over a pipeline file, or over a running pipeline's endpoint.

use super::resolved;
use anyhow::Context;
use riffle_core::live;
use riffle_core::names::Names;
use riffle_core::problem::report;
use riffle_core::query::{self, OutputFormat};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// `riffle query`, over a pipeline file or an endpoint.
pub fn run(
    pipeline: Option<String>,
    query: Option<String>,
    endpoint: Option<String>,
    file: Option<PathBuf>,
    format: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    // With --endpoint there is no pipeline: the one positional argument given is the query.
    let (pipeline, query) = match (&endpoint, pipeline, query) {
        (Some(_), Some(query), None) if file.is_none() => (None, Some(query)),
        (Some(_), Some(_), _) => anyhow::bail!("with --endpoint, give the query (or -f FILE) but no pipeline"),
        (None, None, _) => anyhow::bail!("give a pipeline file, or --endpoint URL"),
        (_, pipeline, query) => (pipeline.map(PathBuf::from), query),
    };
    let text = match (query, file) {
        (Some(q), None) => q,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("cannot read query file {}", f.display()))?
        }
        (None, None) => anyhow::bail!("give the query text, or -f FILE"),
        (Some(_), Some(_)) => anyhow::bail!("give the query text or -f FILE, not both"),
    };
    let terminal = stdout.is_terminal();
    if let Some(url) = endpoint {
        let mut out = stdout.lock();
        // IRIs under the current folder print relative to it, as they do for a pipeline there.
        let names = Names::new(riffle_core::fileurl::folder_of(&std::env::current_dir()?.join("query")));
        if let Err(error) = live::client::run(&url, &text, &names, format, terminal, &mut out) {
            out.flush()?;
            eprintln!("error: {error}");
            // A query the endpoint refused is the query's fault, as it is locally.
            return Ok(ExitCode::from(if error.is_bad_input() { 2 } else { 1 }));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let pipeline = pipeline.expect("a pipeline when there is no endpoint");
    let resolution = resolved(&pipeline)?;
    if !resolution.problems.is_empty() {
        // Questions about a pipeline that does not validate are still worth answering,
        // unless its files could not even be read.
        eprint!(
            "warning: the pipeline has problems; answering from what resolved.\n{}",
            report(&resolution.problems).replace("nothing was started.", "see `riffle validate`.")
        );
        if !resolution.loaded.problems.is_empty() {
            return Ok(ExitCode::from(2));
        }
    }
    let mut out = stdout.lock();
    if let Err(error) =
        query::run(&resolution.loaded.store, &resolution.loaded.names, &text, format, terminal, &mut out)
    {
        out.flush()?;
        eprintln!("error: {error}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
