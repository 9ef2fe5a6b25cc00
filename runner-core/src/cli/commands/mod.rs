//! One module per subcommand; `dispatch` hands each its arguments. Exit codes: 0 success, 1 failure while
//! working, 2 a pipeline, query or argument that is wrong (nothing was started).

mod bench;
mod pipeline;
mod query;
mod run;
mod runners;
mod top;

use crate::args::Command;
use riffle_core::problem::Problem;
use riffle_core::resolve::{resolve, Options, Resolution};
use std::path::Path;
use std::process::ExitCode;

pub fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Secret { file } => Ok(match riffle_core::run::make_secret(&file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("error: {why}");
                ExitCode::from(2)
            }
        }),
        Command::Validate { pipeline, verbose } => pipeline::validate(&pipeline, verbose),
        Command::Plan { pipeline, output } => pipeline::plan(&pipeline, output.as_deref()),
        Command::Graph { pipeline, format } => pipeline::graph(&pipeline, format.into()),
        Command::Query { pipeline, query, endpoint, file, format } => {
            // On a thread with a large stack: deep but accepted queries parse and evaluate recursively.
            let worker = std::thread::Builder::new()
                .name("riffle-query".into())
                .stack_size(riffle_core::query::QUERY_STACK)
                .spawn(move || query::run(pipeline, query, endpoint, file, format.map(Into::into)))?;
            worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }
        Command::Top { endpoint, interval } => top::run(&endpoint, interval),
        Command::Runners { pipeline } => runners::run(pipeline),
        Command::Conformance { runner, transport, cases } => {
            let options = riffle_core::conformance::Options { transport: transport.map(Into::into), cases };
            let all_passed = riffle_core::conformance::run(&runner, &options, &mut std::io::stdout().lock())?;
            Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Bench { what } => bench::run(what),
    }
}

/// An argument that cannot be used as given: a pipeline file that does not exist, say.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn resolved(pipeline: &Path) -> anyhow::Result<Resolution> {
    resolved_with(pipeline, &Options::default())
}

fn resolved_with(pipeline: &Path, options: &Options<'_>) -> anyhow::Result<Resolution> {
    if !pipeline.exists() {
        return Err(BadInput(format!("{} does not exist", pipeline.display())).into());
    }
    Ok(resolve(pipeline, options))
}

/// Prints the problems of a pipeline that does not resolve; exit code 2 when there are any.
fn refused(problems: &[Problem]) -> Option<ExitCode> {
    if problems.is_empty() {
        return None;
    }
    eprint!("{}", riffle_core::problem::report(problems));
    Some(ExitCode::from(2))
}
