//! `riffle conformance RUNNER`: a fixed suite of pipelines that a runner for any language must pass, with
//! the Rust runner as its peer, over TCP and over WebSocket (`docs/adding-a-runner.md`, section 9).

mod cases;
mod execute;
mod intruder;
mod sketch;
mod target;

pub use cases::CASES;
pub use target::{Target, TargetError};

use crate::plan::Transport;
use cases::Bench;
use std::io::Write;
use std::time::Instant;

pub struct Options {
    /// Only this transport; TCP and WebSocket otherwise.
    pub transport: Option<Transport>,
    /// Only these cases; all otherwise.
    pub cases: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("no case is called {0:?}; the cases are: {1}")]
    UnknownCase(String, String),
    #[error("the transport of the kit is tcp or websocket, not memory: the peer is another runner")]
    Memory,
    #[error("cannot create the kit's folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error(transparent)]
    Output(#[from] std::io::Error),
}

/// Runs the cases against `runner`, printing a line per case as it ends. Ok(true) when all passed.
pub fn run(runner: &str, options: &Options, out: &mut dyn Write) -> Result<bool, KitError> {
    let target = Target::find(runner)?;
    let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    if let Some(unknown) = options.cases.iter().find(|c| !names.contains(&c.as_str())) {
        return Err(KitError::UnknownCase(unknown.clone(), names.join(", ")));
    }
    let transports = match options.transport {
        Some(Transport::Memory) => return Err(KitError::Memory),
        Some(transport) => vec![transport],
        None => vec![Transport::Tcp, Transport::WebSocket],
    };
    let root = std::env::temp_dir().join(format!("riffle-conformance-{}", std::process::id()));
    writeln!(out, "conformance of {} <{}>, with the Rust runner as its peer", target.label, target.iri)?;
    let (mut passed, mut failed) = (0, Vec::new());
    for case in CASES.iter().filter(|c| options.cases.is_empty() || options.cases.iter().any(|n| n == c.name)) {
        for &transport in &transports {
            let label = format!("{} over {}", case.name, transport_name(transport));
            let dir = root.join(format!("{}-{}", case.name, transport_name(transport)));
            std::fs::create_dir_all(&dir).map_err(|e| KitError::Folder(dir.display().to_string(), e))?;
            let started = Instant::now();
            let bench = Bench { dir: dir.clone(), target: &target, transport };
            let result = case.check(&bench);
            let seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(detail) => {
                    passed += 1;
                    let _ = std::fs::remove_dir_all(&dir);
                    writeln!(out, "pass  {label:<32} {seconds:>6.2} s  {detail}")?;
                }
                Err(reason) => {
                    writeln!(
                        out,
                        "FAIL  {label:<32} {seconds:>6.2} s  {reason}\n      (its files: {})",
                        dir.display()
                    )?;
                    failed.push(label);
                }
            }
            out.flush()?;
        }
    }
    if failed.is_empty() {
        let _ = std::fs::remove_dir_all(&root);
        writeln!(out, "all {passed} passed")?;
    } else {
        writeln!(out, "{} of {} failed: {}", failed.len(), passed + failed.len(), failed.join(", "))?;
    }
    Ok(failed.is_empty())
}

fn transport_name(transport: Transport) -> &'static str {
    transport.as_str()
}
