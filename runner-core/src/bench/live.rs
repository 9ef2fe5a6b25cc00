//! `riffle bench live`: what `riffle run --sparql` costs. The same two-runner TCP pipeline runs
//! without the endpoint and with it while a client asks a SPARQL question and scrapes `/metrics`
//! every 100 ms, alternating, so both see the same machine.

use super::pipeline::{generated_pipeline, rate, run_once_with};
use super::{median, ms};
use crate::run::report::grouped;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ASKED: &str = "PREFIX riffle: <https://w3id.org/riffle#>
SELECT ?channel ?messages ?queued ?blocked WHERE { ?channel riffle:messages ?messages; riffle:queued ?queued OPTIONAL { ?channel riffle:blockedSeconds ?blocked } }";

/// Asks the endpoint at `address` and scrapes its metrics every 100 ms until `done`; counts answers.
fn poll(address: String, done: Arc<AtomicBool>, answered: Arc<AtomicU64>) {
    let url = format!("http://{address}/sparql");
    while !done.load(Ordering::Relaxed) {
        if crate::live::client::ask(&url, ASKED, "text/csv").is_ok() {
            answered.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut stream) = TcpStream::connect(&address) {
            let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
            let mut sink = Vec::new();
            if stream.read_to_end(&mut sink).is_ok() && sink.starts_with(b"HTTP/1.1 200") {
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn run(runs: usize, scale: f64, out: &mut dyn Write) -> io::Result<()> {
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let n = super::scaled(4_000_000, scale);
    std::fs::write(folder.join("pipeline.ttl"), generated_pipeline("tcp", 64, n))?;
    writeln!(
        out,
        "riffle bench live: two Rust runners, {} messages of 64 B over TCP, median of {runs} runs each, alternating; \
with --sparql, a client asks SPARQL and scrapes /metrics every 100 ms",
        grouped(n)
    )?;
    let (mut plain, mut served) = (Vec::new(), Vec::new());
    let answered = Arc::new(AtomicU64::new(0));
    for _ in 0..runs {
        plain.push(run_once_with(&riffle, &folder, &[])?.data_phase);
        // A free port for the endpoint, known before riffle starts so the client can poll it.
        let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let (address, done, answered) = (address.clone(), done.clone(), answered.clone());
            std::thread::spawn(move || poll(address, done, answered))
        };
        let measured = run_once_with(&riffle, &folder, &[&format!("--sparql={address}")]);
        done.store(true, Ordering::Relaxed);
        let _ = poller.join();
        let measured = measured?;
        if measured.messages != n {
            return Err(io::Error::other(format!("{} of {n} messages arrived with --sparql", measured.messages)));
        }
        served.push(measured.data_phase);
    }
    let (plain_rate, _) = rate(n, 64, median(plain.clone()));
    let (served_rate, _) = rate(n, 64, median(served.clone()));
    writeln!(out, "{:<28} {:>14} {:>12}", "", "msg/s", "data phase")?;
    writeln!(out, "{:<28} {:>14} {:>12}", "without --sparql", grouped(plain_rate as u64), ms(median(plain)))?;
    writeln!(out, "{:<28} {:>14} {:>12}", "with --sparql, polled", grouped(served_rate as u64), ms(median(served)))?;
    writeln!(
        out,
        "cost: {:.1}% of throughput ({} answers served while data moved)",
        (1.0 - served_rate / plain_rate) * 100.0,
        answered.load(Ordering::Relaxed)
    )?;
    std::fs::remove_dir_all(&folder)?;
    Ok(())
}
