//! `riffle bench java`: the Java runner through `riffle run`. Java to Java in one JVM; Rust to Java and Java
//! to Rust over TCP, each beside a raw link between the same two languages measured in the same run (Rust's
//! `riffle_channels::raw` on one side, the jar's `dev.riffle.runner.RawLink` on the other; Java to Java beside
//! a Java queue in one JVM); and the time from
//! `riffle run` starting to the first message counted by a Java sink, which bounds when the JVM runner was
//! ready for it.

use super::pipeline::{beside_raw, beside_raw_header, encrypted_beside_plain, into_raw_reader, measure, TlsCase};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Case {
    link: &'static str,
    size: usize,
    messages: u64,
}

const CASES: &[Case] = &[
    Case { link: "java-java", size: 64, messages: 10_000_000 },
    Case { link: "rust-java", size: 64, messages: 5_000_000 },
    Case { link: "rust-java", size: 65536, messages: 40_000 },
    Case { link: "java-rust", size: 64, messages: 5_000_000 },
    Case { link: "java-rust", size: 65536, messages: 40_000 },
];

fn pipeline(link: &str, size: usize, messages: u64) -> String {
    let (generator, counter, runners) = match link {
        "java-java" => {
            ("JavaGenerator", "JavaCounter", "[ rdfc:instantiates riffle:JavaRunner; rdfc:processor <gen>, <count> ]")
        }
        "rust-java" => ("Generator", "JavaCounter", ""),
        _ => ("JavaGenerator", "Counter", ""),
    };
    let consists = if runners.is_empty() { String::new() } else { format!("; rdfc:consistsOf {runners}") };
    let transport = if link == "java-java" { "" } else { "; riffle:transport riffle:Tcp" };
    format!(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
<> a rdfc:Pipeline{consists}.\n<data> a rdfc:Reader, rdfc:Writer{transport}.\n\
<gen> a riffle:{generator}; riffle:output <data>; riffle:count {messages}; riffle:size {size}; riffle:text false.\n\
<count> a riffle:{counter}; riffle:input <data>.\n"
    )
}

fn jar() -> PathBuf {
    crate::bundled::home().join("runners/java/target/riffle-runner-java.jar")
}

/// Java to Java in one JVM: the jar's bounded `ArrayBlockingQueue` between two threads, timed by the JVM
/// itself, so its start-up is not counted.
fn raw_java_queue(size: usize, n: u64) -> io::Result<Duration> {
    let out = Command::new("java")
        .arg("-cp")
        .arg(jar())
        .args(["dev.riffle.runner.RawLink", "queue", &size.to_string(), &n.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("the raw Java queue failed ({})", out.status)));
    }
    let nanos: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().map_err(io::Error::other)?;
    Ok(Duration::from_nanos(nanos))
}

/// Rust writes to the jar's raw reader.
fn raw_rust_to_java(size: usize, n: u64) -> io::Result<Duration> {
    let mut reader = Command::new("java")
        .arg("-cp")
        .arg(jar())
        .args(["dev.riffle.runner.RawLink", "read"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(reader.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
    let addr: std::net::SocketAddr = lines
        .next()
        .ok_or_else(|| io::Error::other("the raw Java reader said nothing"))??
        .parse()
        .map_err(io::Error::other)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let start = Instant::now();
    runtime.block_on(riffle_channels::raw::tcp_write(addr, size, n))?;
    let got: u64 = lines.next().ok_or_else(|| io::Error::other("no count"))??.parse().map_err(io::Error::other)?;
    let elapsed = start.elapsed();
    reader.wait()?;
    if got != n {
        return Err(io::Error::other(format!("the raw Java reader got {got} of {n} messages")));
    }
    Ok(elapsed)
}

/// The jar's raw writer writes to Rust's raw reader (in its own process, as in `riffle bench run`). The
/// clock starts when the writer has connected (its JVM start-up is not the link's cost): the Rust reader
/// announces the address, and the time is the writer's own measure of the whole transfer, taken to the
/// reader's count.
fn raw_java_to_rust(riffle: &Path, size: usize, n: u64) -> io::Result<Duration> {
    into_raw_reader(riffle, n, |addr| {
        let mut writer = Command::new("java")
            .arg("-cp")
            .arg(jar())
            .args(["dev.riffle.runner.RawLink", "write", addr, &size.to_string(), &n.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut said = BufReader::new(writer.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
        let nanos: u64 = said
            .next()
            .ok_or_else(|| io::Error::other("the raw Java writer said nothing"))??
            .parse()
            .map_err(io::Error::other)?;
        writer.wait()?;
        Ok(Duration::from_nanos(nanos))
    })
}

pub fn run(runs: usize, scale: f64, out: &mut dyn Write) -> io::Result<()> {
    if !jar().is_file() {
        return Err(io::Error::other(format!("{} is missing: run ./scripts/test first", jar().display())));
    }
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-java-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    writeln!(out, "riffle bench java: through `riffle run`, median of {runs} runs; raw: the same two languages over plain TCP frames in the same run")?;
    writeln!(out, "{:<10} {:>6} {}", "link", "size", beside_raw_header())?;
    for case in CASES {
        let n = super::scaled(case.messages, scale);
        std::fs::write(folder.join("pipeline.ttl"), pipeline(case.link, case.size, n))?;
        let mut raw_link = || match case.link {
            "java-java" => raw_java_queue(case.size, n),
            "rust-java" => raw_rust_to_java(case.size, n),
            _ => raw_java_to_rust(&riffle, case.size, n),
        };
        let figures = measure(&riffle, &folder, case.link, n, runs, Some(&mut raw_link))?;
        writeln!(out, "{:<10} {:>6} {}", case.link, case.size, beside_raw(n, case.size, &figures))?;
    }
    writeln!(out, "(raw for java-java: a bounded ArrayBlockingQueue between two threads of one JVM, dev.riffle.runner.RawLink queue)")?;
    let encrypted: Vec<TlsCase> = CASES
        .iter()
        .filter(|case| case.link != "java-java")
        .map(|case| {
            let n = super::scaled(case.messages / 2, scale);
            TlsCase {
                link: case.link.to_owned(),
                size: case.size,
                messages: n,
                pipeline: pipeline(case.link, case.size, n),
            }
        })
        .collect();
    encrypted_beside_plain(&riffle, &folder, &encrypted, runs, out)?;
    std::fs::write(folder.join("pipeline.ttl"), pipeline("rust-java", 64, 1))?;
    let startup = measure(&riffle, &folder, "rust-java, one message", 1, runs.max(7), None)?;
    let first = startup.counted.ok_or_else(|| io::Error::other("the Java counter reported nothing"))?;
    writeln!(
        out,
        "Rust -> Java, one message (median of {}): `riffle run` start to the message counted by the Java sink {:.1} ms",
        runs.max(7),
        first.as_secs_f64() * 1000.0
    )?;
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}
