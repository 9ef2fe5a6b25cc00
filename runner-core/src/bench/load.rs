//! `riffle bench load`: validating a pipeline that imports a large file of irrelevant triples,
//! beside oxigraph's own bulk load of the same file, measured in the same run.
//!
//! Each measurement runs in a fresh process (`riffle bench load-once`), so that its peak resident
//! memory is its own and not what an earlier run left behind.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::store::Store;

use super::{median, ms};
use crate::resolve::{resolve, Options};

/// What one `load-once` process measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `Store::new()` and oxigraph's bulk loader over the file.
    Oxigraph,
    /// What `riffle validate` does: load the pipeline and its imports, resolve, check.
    Riffle,
}

/// Writes `mib` MiB of Turtle with four statements per subject and seven predicates, none of
/// which a pipeline uses. Returns the number of triples.
fn write_noise(path: &Path, mib: usize) -> io::Result<usize> {
    let target = mib << 20;
    let mut text = String::with_capacity(target + 64);
    text.push_str("@prefix ex: <http://example.org/noise/>.\n");
    let mut triples = 0;
    while text.len() < target {
        use std::fmt::Write as _;
        let _ = writeln!(text, "ex:s{} ex:p{} \"v{triples}\".", triples / 4, triples % 7);
        triples += 1;
    }
    std::fs::write(path, text)?;
    Ok(triples)
}

/// A pipeline of the bundled Rust processors that imports the noise file.
const PIPELINE: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n\
@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix owl: <http://www.w3.org/2002/07/owl#>.\n\
<> a rdfc:Pipeline; owl:imports <noise.ttl>.\n\
<c> a rdfc:Reader, rdfc:Writer.\n\
<gen> a riffle:Generator; riffle:output <c>; riffle:count 10; riffle:size 64.\n\
<count> a riffle:Counter; riffle:input <c>.\n";

pub fn run(mib: usize, runs: usize, out: &mut dyn Write) -> io::Result<()> {
    let folder = std::env::temp_dir().join(format!("riffle-bench-load-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let result = measure(&folder, mib, runs, out);
    let _ = std::fs::remove_dir_all(&folder);
    result
}

fn measure(folder: &Path, mib: usize, runs: usize, out: &mut dyn Write) -> io::Result<()> {
    let noise = folder.join("noise.ttl");
    let triples = write_noise(&noise, mib)?;
    let pipeline = folder.join("pipeline.ttl");
    std::fs::write(&pipeline, PIPELINE)?;
    writeln!(
        out,
        "riffle bench load: a pipeline importing {mib} MiB of Turtle ({triples} triples), median of {runs} runs"
    )?;
    let exe = std::env::current_exe()?;
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    // Interleaved, so that a slow spell of the machine hurts both sides alike.
    for _ in 0..runs {
        raw.push(once(&exe, Subject::Oxigraph, &noise)?);
        ours.push(once(&exe, Subject::Riffle, &pipeline)?);
    }
    let (raw_time, raw_kib) = summary(raw);
    let (our_time, our_kib) = summary(ours);
    let row = |out: &mut dyn Write, label: &str, time: Duration, kib: u64, ratio: String| {
        writeln!(out, "  {label:<46} {:>10} {:>9.0} MiB peak{ratio}", ms(time), kib as f64 / 1024.0)
    };
    row(out, "raw: oxigraph bulk load of the file", raw_time, raw_kib, String::new())?;
    let ratio = format!(
        "  ({:.2}x the time, {:.2}x the memory)",
        our_time.as_secs_f64() / raw_time.as_secs_f64(),
        our_kib as f64 / raw_kib as f64
    );
    row(out, "riffle: validate the pipeline that imports it", our_time, our_kib, ratio)
}

fn summary(samples: Vec<(Duration, u64)>) -> (Duration, u64) {
    let mut kib: Vec<u64> = samples.iter().map(|s| s.1).collect();
    kib.sort_unstable();
    (median(samples.into_iter().map(|s| s.0).collect()), kib[kib.len() / 2])
}

/// Runs `riffle bench load-once` and reads back its `<nanoseconds> <peak KiB>` line.
fn once(exe: &Path, subject: Subject, file: &Path) -> io::Result<(Duration, u64)> {
    let name = match subject {
        Subject::Oxigraph => "oxigraph",
        Subject::Riffle => "riffle",
    };
    let output = Command::new(exe).args(["bench", "load-once", name]).arg(file).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (output.status.success(), fields.next(), fields.next()) {
        (true, Some(Ok(nanos)), Some(Ok(kib))) => Ok((Duration::from_nanos(nanos), kib)),
        _ => Err(io::Error::other(format!(
            "`riffle bench load-once {name}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// One measurement in this process: prints the elapsed nanoseconds and the peak resident KiB.
pub fn load_once(subject: Subject, file: &Path, out: &mut dyn Write) -> io::Result<()> {
    let start = Instant::now();
    match subject {
        Subject::Oxigraph => {
            let bytes = std::fs::read(file)?;
            let store = Store::new().map_err(io::Error::other)?;
            let base = crate::fileurl::from_path(&absolute(file));
            let parser =
                RdfParser::from_format(RdfFormat::Turtle).with_base_iri(base.as_str()).map_err(io::Error::other)?;
            store.bulk_loader().load_from_slice(parser, &bytes).map_err(io::Error::other)?;
            std::hint::black_box(store.len().map_err(io::Error::other)?);
        }
        Subject::Riffle => {
            let resolution = resolve(file, &Options::default());
            std::hint::black_box(resolution.plan.processors.len());
        }
    }
    let elapsed = start.elapsed();
    writeln!(out, "{} {}", elapsed.as_nanos(), peak_kib()?)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `VmHWM` of /proc/self/status: the most this process has had resident.
fn peak_kib() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmHWM in /proc/self/status"))
}
