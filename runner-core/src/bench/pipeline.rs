//! `riffle bench run`: whole pipelines through `riffle run` (a Generator feeding a Counter, in one
//! runner over memory, or in two runner processes over TCP or WebSocket), each beside the raw link
//! of the same transport (`riffle_channels::raw`) measured in the same run, with the peak memory of
//! the whole process tree.

use super::{median, ms};
use crate::run::report::grouped;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct Case {
    transport: &'static str,
    size: usize,
    messages: u64,
}

/// At 64 B a case moves 10,000,000 messages: with 2,000,000 a TCP run lasted under 200 ms, and its ratio to raw
/// swung between 37% and 53% from one run to the next on this machine.
const CASES: &[Case] = &[
    Case { transport: "memory", size: 64, messages: 10_000_000 },
    Case { transport: "memory", size: 1024, messages: 1_000_000 },
    Case { transport: "memory", size: 65536, messages: 20_000 },
    Case { transport: "tcp", size: 64, messages: 10_000_000 },
    Case { transport: "tcp", size: 1024, messages: 1_000_000 },
    Case { transport: "tcp", size: 65536, messages: 20_000 },
    Case { transport: "websocket", size: 64, messages: 10_000_000 },
    Case { transport: "websocket", size: 1024, messages: 1_000_000 },
    Case { transport: "websocket", size: 65536, messages: 20_000 },
];

/// The cross-process cases again, plain and encrypted: TLS costs most per byte, so the sizes at both ends.
const TLS_CASES: &[Case] = &[
    Case { transport: "tcp", size: 64, messages: 5_000_000 },
    Case { transport: "tcp", size: 65536, messages: 20_000 },
    Case { transport: "websocket", size: 64, messages: 5_000_000 },
    Case { transport: "websocket", size: 65536, messages: 20_000 },
];

/// Generator -> Counter: in one runner instance over memory, otherwise in two over `transport`.
pub fn generated_pipeline(transport: &str, size: usize, messages: u64) -> String {
    let (parts, riffle_transport) = match transport {
        "memory" => ("[ rdfc:instantiates riffle:RustRunner; rdfc:processor <gen>, <count> ]", "Memory"),
        "tcp" => ("[ rdfc:instantiates riffle:RustRunner; rdfc:processor <gen> ], [ rdfc:instantiates riffle:RustRunner; rdfc:processor <count> ]", "Tcp"),
        _ => ("[ rdfc:instantiates riffle:RustRunner; rdfc:processor <gen> ], [ rdfc:instantiates riffle:RustRunner; rdfc:processor <count> ]", "WebSocket"),
    };
    format!(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
<> a rdfc:Pipeline; rdfc:consistsOf {parts}.\n\
<data> a rdfc:Reader, rdfc:Writer; riffle:transport riffle:{riffle_transport}.\n\
<gen> a riffle:Generator; riffle:output <data>; riffle:count {messages}; riffle:size {size}; riffle:text false.\n\
<count> a riffle:Counter; riffle:input <data>.\n"
    )
}

/// What one `riffle run` measured.
pub(crate) struct Measured {
    /// From `start` to the counter's `finished`: the data moving, without start-up.
    pub(crate) data_phase: Duration,
    /// From spawning `riffle` to its exit.
    pub(crate) wall: Duration,
    /// From spawning `riffle` to the counter's report reaching riffle's output: the counter has then
    /// received every message (for a one-message pipeline: the first).
    pub(crate) counted: Option<Duration>,
    pub(crate) messages: u64,
    /// The largest sum of resident memory of riffle and every process under it, sampled every 10 ms.
    pub(crate) peak_rss_kib: u64,
}

/// `riffle run pipeline.ttl` in `folder` with `extra` arguments, measured.
pub(crate) fn run_once_with(riffle: &Path, folder: &Path, extra: &[&str]) -> io::Result<Measured> {
    let started = Instant::now();
    let mut child = Command::new(riffle)
        .args(["run", "pipeline.ttl", "--log-format", "json"])
        .args(extra)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).map(|l| (started.elapsed(), l)).collect::<Vec<_>>()
    });
    let mut peak = 0;
    let status = loop {
        peak = peak.max(tree_rss_kib(child.id()));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let timed = lines.join().map_err(|_| io::Error::other("reading riffle's output failed"))?;
    let counted = timed.iter().find(|(_, l)| l.contains("/count\"") && l.contains(" messages, ")).map(|(at, _)| *at);
    let lines: Vec<String> = timed.into_iter().map(|(_, l)| l).collect();
    if !status.success() {
        return Err(io::Error::other(format!("riffle run failed ({status}): {}", lines.join("\n"))));
    }
    let summary = summary(&lines)?;
    let seconds = counter_seconds(&summary)?;
    let messages = summary["channels"][0]["messages"].as_u64().unwrap_or(0);
    Ok(Measured { data_phase: Duration::from_secs_f64(seconds), wall, counted, messages, peak_rss_kib: peak })
}

/// The summary object `riffle run --log-format json` prints at the end.
pub(crate) fn summary(lines: &[String]) -> io::Result<serde_json::Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("summary").cloned())
        .ok_or_else(|| io::Error::other("riffle printed no summary"))
}

/// How long the processor `<count>` ran, from a summary: the data phase of a bench pipeline.
pub(crate) fn counter_seconds(summary: &serde_json::Value) -> io::Result<f64> {
    let counter = summary["processors"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["processor"].as_str().is_some_and(|id| id.ends_with("/count"))))
        .ok_or_else(|| io::Error::other("no counter in the summary"))?;
    counter["seconds"].as_f64().ok_or_else(|| io::Error::other("the counter has no time"))
}

/// Resident memory of `root` and all its descendants, in KiB.
fn tree_rss_kib(root: u32) -> u64 {
    tree(root).iter().map(|pid| rss_kib(*pid)).sum()
}

/// `root` and all its descendants.
pub(crate) fn tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // The command name (field 2) may hold spaces; the parent pid is the second field after it.
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    tree
}

pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The raw link of `transport`: in this process for memory; for TCP and WebSocket with the reading half
/// in a child process (`riffle bench raw-reader`), as the pipeline's two runners are.
pub(crate) fn raw(riffle: &Path, transport: &str, size: usize, n: u64) -> io::Result<Duration> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if transport == "memory" {
        return runtime.block_on(riffle_channels::raw::memory(size, n));
    }
    let mut reader = Command::new(riffle)
        .args(["bench", "raw-reader", "--transport", transport])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(reader.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
    let addr: std::net::SocketAddr = lines
        .next()
        .ok_or_else(|| io::Error::other("the raw reader said nothing"))??
        .parse()
        .map_err(io::Error::other)?;
    let start = Instant::now();
    let written = runtime.block_on(async {
        match transport {
            "tcp" => riffle_channels::raw::tcp_write(addr, size, n).await,
            _ => riffle_channels::raw::websocket_write(addr, size, n).await,
        }
    });
    let got: u64 = lines
        .next()
        .ok_or_else(|| io::Error::other("the raw reader did not count"))??
        .parse()
        .map_err(io::Error::other)?;
    let elapsed = start.elapsed();
    reader.wait()?;
    written?;
    if got != n {
        return Err(io::Error::other(format!("the raw reader got {got} of {n} messages")));
    }
    Ok(elapsed)
}

/// A foreign raw writer into Rust's raw TCP reader in its own process (`riffle bench raw-reader`):
/// `write` is given the reader's address and returns the writer's own measure of the transfer (so that an
/// interpreter's start-up is not the link's cost); that is the result once the reader counted all `n`.
pub(crate) fn into_raw_reader(
    riffle: &Path,
    n: u64,
    write: impl FnOnce(&str) -> io::Result<Duration>,
) -> io::Result<Duration> {
    let mut reader = Command::new(riffle)
        .args(["bench", "raw-reader", "--transport", "tcp"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(reader.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
    let addr = lines.next().ok_or_else(|| io::Error::other("the raw reader said nothing"))??;
    let took = write(&addr);
    let got: u64 = lines.next().ok_or_else(|| io::Error::other("no count"))??.parse().map_err(io::Error::other)?;
    reader.wait()?;
    if got != n {
        return Err(io::Error::other(format!("the raw reader got {got} of {n} messages")));
    }
    took
}

/// The reading half of a two-process raw link: prints its address, reads to the end, prints the count.
pub fn raw_reader(transport: &str, out: &mut dyn Write) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        writeln!(out, "{}", listener.local_addr()?)?;
        out.flush()?;
        let got = match transport {
            "tcp" => riffle_channels::raw::tcp_read(listener).await?,
            _ => riffle_channels::raw::websocket_read(listener).await?,
        };
        writeln!(out, "{got}")?;
        out.flush()
    })
}

/// Medians over several `riffle run`s of one pipeline.
pub(crate) struct Figures {
    pub(crate) data: Duration,
    pub(crate) wall: Duration,
    /// None unless every run's sink reported.
    pub(crate) counted: Option<Duration>,
    /// The largest of the runs' peaks.
    pub(crate) peak_rss_kib: u64,
    /// The raw baseline's median, when one was measured.
    pub(crate) raw: Option<Duration>,
}

/// Runs `riffle run` in `folder` `runs` times; each run must deliver exactly `n` messages (`what` names
/// the case in the error). `raw`, when given, is measured after each run, so that the pipeline and its
/// baseline take turns on the same machine.
pub(crate) fn measure(
    riffle: &Path,
    folder: &Path,
    what: &str,
    n: u64,
    runs: usize,
    raw: Option<&mut dyn FnMut() -> io::Result<Duration>>,
) -> io::Result<Figures> {
    measure_with(riffle, folder, &[], what, n, runs, raw)
}

/// [`measure`] with `extra` arguments to every `riffle run`.
pub(crate) fn measure_with(
    riffle: &Path,
    folder: &Path,
    extra: &[&str],
    what: &str,
    n: u64,
    runs: usize,
    mut raw: Option<&mut dyn FnMut() -> io::Result<Duration>>,
) -> io::Result<Figures> {
    let (mut data, mut walls, mut counted, mut raws, mut peak) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..runs.max(1) {
        let measured = run_once_with(riffle, folder, extra)?;
        if measured.messages != n {
            return Err(io::Error::other(format!("{what}: {} of {n} messages arrived", measured.messages)));
        }
        data.push(measured.data_phase);
        walls.push(measured.wall);
        counted.extend(measured.counted);
        peak = peak.max(measured.peak_rss_kib);
        if let Some(raw) = raw.as_mut() {
            raws.push(raw()?);
        }
    }
    let counted = (counted.len() == data.len()).then(|| median(counted));
    let raw = (!raws.is_empty()).then(|| median(raws));
    Ok(Figures { data: median(data), wall: median(walls), counted, peak_rss_kib: peak, raw })
}

/// The column headings of [`beside_raw`].
pub(crate) fn beside_raw_header() -> String {
    format!(
        "{:>10} {:>12} {:>12} {:>9} {:>11} {:>7} {:>10}",
        "messages", "raw msg/s", "riffle msg/s", "raw MB/s", "riffle MB/s", "ratio", "peak RSS"
    )
}

/// What every case measured beside a raw link prints: messages, raw and riffle msg/s and MB/s, the
/// ratio of riffle to raw, and the peak memory of the process tree.
pub(crate) fn beside_raw(n: u64, size: usize, figures: &Figures) -> String {
    let (raw_msgs, raw_mb) = rate(n, size, figures.raw.unwrap_or_default());
    let (msgs, mb) = rate(n, size, figures.data);
    format!(
        "{:>10} {:>12} {:>12} {raw_mb:>9.0} {mb:>11.0} {:>6.0}% {:>7.1} MB",
        grouped(n),
        grouped(raw_msgs as u64),
        grouped(msgs as u64),
        msgs / raw_msgs * 100.0,
        figures.peak_rss_kib as f64 / 1024.0
    )
}

/// One pipeline measured plain and encrypted by [`encrypted_beside_plain`].
pub(crate) struct TlsCase {
    pub(crate) link: String,
    pub(crate) size: usize,
    pub(crate) messages: u64,
    pub(crate) pipeline: String,
}

/// Each case through `riffle run` and `riffle run --tls`, taking turns in the same run (the encrypted run
/// takes the raw baseline's turn after each plain one): what encryption costs a link, beside the link.
pub(crate) fn encrypted_beside_plain(
    riffle: &Path,
    folder: &Path,
    cases: &[TlsCase],
    runs: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "encrypted runs (--tls) beside plain ones, median of {runs} runs each, taking turns")?;
    writeln!(
        out,
        "{:<12} {:>6} {:>10} {:>12} {:>12} {:>10} {:>11} {:>10}",
        "link", "size", "messages", "plain msg/s", "tls msg/s", "plain MB/s", "tls MB/s", "tls/plain"
    )?;
    for case in cases {
        let (n, size) = (case.messages, case.size);
        std::fs::write(folder.join("pipeline.ttl"), &case.pipeline)?;
        let what = format!("{} {size} B", case.link);
        let mut encrypted = || {
            let figures = measure_with(riffle, folder, &["--tls"], &format!("{what} --tls"), n, 1, None)?;
            Ok(figures.data)
        };
        let plain = measure(riffle, folder, &what, n, runs, Some(&mut encrypted))?;
        let tls = plain.raw.unwrap_or_default();
        let ((plain_msgs, plain_mb), (tls_msgs, tls_mb)) = (rate(n, size, plain.data), rate(n, size, tls));
        writeln!(
            out,
            "{:<12} {size:>6} {:>10} {:>12} {:>12} {plain_mb:>10.0} {tls_mb:>11.0} {:>9.0}%",
            case.link,
            grouped(n),
            grouped(plain_msgs as u64),
            grouped(tls_msgs as u64),
            tls_msgs / plain_msgs * 100.0
        )?;
    }
    Ok(())
}

pub(crate) fn rate(n: u64, size: usize, d: Duration) -> (f64, f64) {
    let s = d.as_secs_f64().max(1e-9);
    (n as f64 / s, n as f64 * size as f64 / s / 1e6)
}

pub fn run(runs: usize, scale: f64, only: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    writeln!(
        out,
        "riffle bench run: Generator -> Counter through `riffle run`, median of {runs} runs. Raw: riffle_channels::raw in the \
same run, its reading half in a second process for tcp and websocket, as in the pipeline"
    )?;
    writeln!(out, "{:<10} {:>6} {} {:>9}", "link", "size", beside_raw_header(), "wall")?;
    for case in CASES.iter().filter(|c| only.is_none_or(|t| t == c.transport)) {
        let n = super::scaled(case.messages, scale);
        std::fs::write(folder.join("pipeline.ttl"), generated_pipeline(case.transport, case.size, n))?;
        let what = format!("{} {} B", case.transport, case.size);
        let mut raw_link = || raw(&riffle, case.transport, case.size, n);
        let figures = measure(&riffle, &folder, &what, n, runs, Some(&mut raw_link))?;
        writeln!(
            out,
            "{:<10} {:>6} {} {:>9}",
            case.transport,
            case.size,
            beside_raw(n, case.size, &figures),
            ms(figures.wall)
        )?;
    }
    let tls_cases: Vec<TlsCase> = TLS_CASES
        .iter()
        .filter(|c| only.is_none_or(|t| t == c.transport))
        .map(|case| {
            let n = super::scaled(case.messages, scale);
            TlsCase {
                link: case.transport.to_owned(),
                size: case.size,
                messages: n,
                pipeline: generated_pipeline(case.transport, case.size, n),
            }
        })
        .collect();
    encrypted_beside_plain(&riffle, &folder, &tls_cases, runs, out)?;
    // Start-up: a two-runner pipeline of one message, from `riffle run` to its exit (so the first
    // message arrived sooner still).
    std::fs::write(folder.join("pipeline.ttl"), generated_pipeline("tcp", 64, 1))?;
    let startup = measure(&riffle, &folder, "one message", 1, runs.max(5), None)?;
    let first = startup.counted.ok_or_else(|| io::Error::other("the counter reported nothing"))?;
    writeln!(
        out,
        "two Rust runners, one message over TCP (median of {}): start to the message counted at the sink {}, start to exit {}",
        runs.max(5),
        ms(first),
        ms(startup.wall)
    )?;
    std::fs::remove_dir_all(&folder)?;
    Ok(())
}
