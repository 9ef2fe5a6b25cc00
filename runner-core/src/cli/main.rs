//! The `riffle` command line: `args` is its shape, `commands` one module per subcommand. Exit codes: 0
//! success, 1 failure while working, 2 a pipeline or query that is wrong (nothing was started).

mod args;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            // What the user gave is wrong (2, as for an invalid pipeline), or something failed (1).
            ExitCode::from(if error.is::<commands::BadInput>() { 2 } else { 1 })
        }
    }
}
