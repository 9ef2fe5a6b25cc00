//! `riffle bench`: each benchmark prints its figures beside a baseline measured in the same run.

use crate::args::{BenchTarget, NetworkChoice, TransportChoice};
use riffle_core::bench;
use std::process::ExitCode;

pub fn run(what: BenchTarget) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let out = &mut stdout.lock();
    match what {
        BenchTarget::Plan { processors, runs } => bench::plan(processors, runs.max(1), out)?,
        BenchTarget::Run { runs, scale, transport } => {
            let only = transport.map(|t| match t {
                TransportChoice::Memory => "memory",
                TransportChoice::Tcp => "tcp",
                TransportChoice::WebSocket => "websocket",
            });
            bench::pipeline::run(runs.max(1), scale, only, out)?
        }
        BenchTarget::Live { runs, scale } => bench::live::run(runs.max(1), scale, out)?,
        BenchTarget::Java { runs, scale } => bench::java::run(runs.max(1), scale, out)?,
        BenchTarget::Js { runs, scale } => bench::js::run(runs.max(1), scale, out)?,
        BenchTarget::Python { runs, scale } => bench::python::run(runs.max(1), scale, out)?,
        BenchTarget::Soak { minutes } => bench::soak::run(minutes, out)?,
        BenchTarget::Load { mib, runs } => bench::load::run(mib.max(1), runs.max(1), out)?,
        BenchTarget::LoadOnce { subject, file } => bench::load::load_once(subject.into(), &file, out)?,
        BenchTarget::RawReader { transport } => {
            let transport = if transport == NetworkChoice::WebSocket { "websocket" } else { "tcp" };
            bench::pipeline::raw_reader(transport, out)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
