//! `riffle bench soak`: a three-language pipeline (a Rust generator, a JavaScript pass-through, the Java
//! pass-through, a Rust counter, over TCP) moving messages for minutes, with the resident memory of every
//! process sampled at the end of a warm-up and at the end, and every channel's count checked against what
//! was written: steady memory and zero loss, or the reason why not.
//!
//! The run ends by itself: a short calibration run measures the pipeline's rate, and the soak run is given
//! as many messages as that rate moves in the time asked for. No message is in flight when it is counted.

use super::js::declarations;
use super::pipeline::{counter_seconds, rss_kib, summary, tree};
use crate::run::report::grouped;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SIZE: usize = 1024;
/// Long enough that the JVM's and V8's warm-up is a small part of it.
const CALIBRATION_MESSAGES: u64 = 4_000_000;
/// The soak still runs faster than its calibration (16% faster after this calibration, 25% after one of
/// 1,000,000 messages), so it is given this much more, to last at least the time asked.
const MARGIN: f64 = 1.3;

fn pipeline(messages: u64) -> String {
    let mut out = declarations();
    out.push_str(&format!(
        "<> a rdfc:Pipeline.\n\
<a> a rdfc:Reader, rdfc:Writer; riffle:transport riffle:Tcp.\n\
<b> a rdfc:Reader, rdfc:Writer; riffle:transport riffle:Tcp.\n\
<c> a rdfc:Reader, rdfc:Writer; riffle:transport riffle:Tcp.\n\
<gen> a riffle:Generator; riffle:output <a>; riffle:count {messages}; riffle:size {SIZE}; riffle:text false.\n\
<js> a b:Pass; b:input <a>; b:output <b>.\n\
<java> a riffle:JavaPassThrough; riffle:input <b>; riffle:output <c>.\n\
<count> a riffle:Counter; riffle:input <c>.\n"
    ));
    out
}

/// One process of the run: who it is, and its resident memory over time.
struct Watched {
    name: String,
    warm: Option<u64>,
    last: u64,
    peak: u64,
}

/// Which runner a process is (`RIFFLE_RUNNER_ID` in its environment), else the orchestrator.
fn name_of(pid: u32, root: u32) -> String {
    if pid == root {
        return "riffle (orchestrator)".into();
    }
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(b"RIFFLE_RUNNER_ID="))
        .map(|id| format!("runner {}", String::from_utf8_lossy(id)))
        .unwrap_or_else(|| format!("process {pid}"))
}

struct Soaked {
    lines: Vec<String>,
    processes: BTreeMap<u32, Watched>,
    elapsed: Duration,
}

/// Runs the pipeline in `folder`, sampling memory every second; the warm-up ends at `warm_up`.
fn soak_once(
    riffle: &Path,
    folder: &Path,
    warm_up: Duration,
    report: &mut dyn FnMut(Duration, u64),
) -> io::Result<Soaked> {
    let started = Instant::now();
    let mut child = Command::new(riffle)
        .args(["run", "pipeline.ttl", "--log-format", "json"])
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let root = child.id();
    let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
    let lines = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>());
    let mut processes: BTreeMap<u32, Watched> = BTreeMap::new();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let now = started.elapsed();
        let mut total = 0;
        for pid in tree(root) {
            let rss = rss_kib(pid);
            if rss == 0 {
                continue;
            }
            total += rss;
            let watched = processes.entry(pid).or_insert_with(|| Watched {
                name: name_of(pid, root),
                warm: None,
                last: 0,
                peak: 0,
            });
            if now >= warm_up && watched.warm.is_none() {
                watched.warm = Some(rss);
            }
            watched.last = rss;
            watched.peak = watched.peak.max(rss);
        }
        report(now, total);
        std::thread::sleep(Duration::from_secs(1));
    };
    let elapsed = started.elapsed();
    let lines = lines.join().map_err(|_| io::Error::other("reading riffle's output failed"))?;
    if !status.success() {
        return Err(io::Error::other(format!("riffle run failed ({status}): {}", lines.join("\n"))));
    }
    Ok(Soaked { lines, processes, elapsed })
}

pub fn run(minutes: f64, out: &mut dyn Write) -> io::Result<()> {
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-soak-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    writeln!(out, "soak: Rust generator -> JavaScript pass -> Java pass -> Rust counter, {SIZE} B messages over TCP")?;

    std::fs::write(folder.join("pipeline.ttl"), pipeline(CALIBRATION_MESSAGES))?;
    let calibration = soak_once(&riffle, &folder, Duration::MAX, &mut |_, _| {})?;
    let seconds = counter_seconds(&summary(&calibration.lines)?)?;
    let rate = CALIBRATION_MESSAGES as f64 / seconds;
    let messages = ((rate * minutes * 60.0 * MARGIN) as u64).max(CALIBRATION_MESSAGES);
    writeln!(
        out,
        "calibration: {} messages in {seconds:.1} s ({} msg/s); soaking with {} messages for at least {minutes} min",
        grouped(CALIBRATION_MESSAGES),
        grouped(rate as u64),
        grouped(messages)
    )?;
    out.flush()?;

    std::fs::write(folder.join("pipeline.ttl"), pipeline(messages))?;
    let warm_up = Duration::from_secs_f64((minutes * 60.0 / 10.0).clamp(5.0, 60.0));
    let mut next_note = Duration::from_secs(30);
    let soaked = soak_once(&riffle, &folder, warm_up, &mut |at, total_kib| {
        if at >= next_note {
            let _ = writeln!(out, "  {:>5.0} s  tree resident {:.1} MB", at.as_secs_f64(), total_kib as f64 / 1024.0);
            let _ = out.flush();
            next_note += Duration::from_secs(30);
        }
    })?;
    let _ = std::fs::remove_dir_all(&folder);

    let summary = summary(&soaked.lines)?;
    writeln!(
        out,
        "ran {:.1} min; memory after the {:.0} s warm-up and at the end:",
        soaked.elapsed.as_secs_f64() / 60.0,
        warm_up.as_secs_f64()
    )?;
    writeln!(out, "  {:<24} {:>12} {:>12} {:>12} {:>8}", "process", "warm (MB)", "end (MB)", "peak (MB)", "growth")?;
    let mb = |kib: u64| kib as f64 / 1024.0;
    for watched in soaked.processes.values() {
        let warm = watched.warm.unwrap_or(watched.last);
        let growth = (watched.last as f64 - warm as f64) / warm.max(1) as f64 * 100.0;
        writeln!(
            out,
            "  {:<24} {:>12.1} {:>12.1} {:>12.1} {:>7.1}%",
            watched.name,
            mb(warm),
            mb(watched.last),
            mb(watched.peak),
            growth
        )?;
    }
    let mut lost = Vec::new();
    for channel in summary["channels"].as_array().into_iter().flatten() {
        let name = channel["channel"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
        let counted = channel["messages"].as_u64().unwrap_or(0);
        writeln!(out, "  channel <{name}>: {} messages", grouped(counted))?;
        if counted != messages {
            lost.push(format!("<{name}> carried {} of {}", grouped(counted), grouped(messages)));
        }
    }
    if lost.is_empty() {
        writeln!(out, "zero loss: every channel carried all {} messages", grouped(messages))?;
        Ok(())
    } else {
        Err(io::Error::other(format!("messages lost: {}", lost.join("; "))))
    }
}
