//! `riffle top`: a running pipeline's state, redrawn on the terminal from its SPARQL endpoint.

use super::BadInput;
use riffle_core::names::Names;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(endpoint: &str, interval: f64) -> anyhow::Result<ExitCode> {
    if !(interval > 0.0 && interval <= 3600.0) {
        return Err(BadInput(format!("--interval {interval}: give seconds between 0 and 3600")).into());
    }
    if !std::io::stdout().is_terminal() {
        return Err(BadInput(
            "riffle top draws on a terminal; to read the state as data, use `riffle query --endpoint`".into(),
        )
        .into());
    }
    let names = Names::new(riffle_core::fileurl::folder_of(&std::env::current_dir()?.join("top")));
    riffle_core::top::run(endpoint, Duration::from_secs_f64(interval), &names)?;
    Ok(ExitCode::SUCCESS)
}
