//! `riffle bench python`: pipelines with the Python runner through `riffle run`, each beside a raw link of
//! the same languages measured in the same run (runners/python/bench/raw.py: an asyncio queue in one event
//! loop, asyncio streams writing 1 MiB per call and parsing frames in place; Rust's `riffle_channels::raw`
//! on the Rust side). The bench processors are runners/python/bench/processors.py.

use super::ms;
use super::pipeline::{beside_raw, beside_raw_header, encrypted_beside_plain, into_raw_reader, measure, TlsCase};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const CASES: &[(&str, usize, u64)] = &[
    ("python-python memory (asyncio queue)", 64, 1_000_000),
    ("python-python memory (asyncio queue)", 65536, 20_000),
    ("rust-python tcp (rust-python tcp)", 64, 1_000_000),
    ("rust-python tcp (rust-python tcp)", 65536, 20_000),
    ("python-rust tcp (python-rust tcp)", 64, 1_000_000),
    ("python-rust tcp (python-rust tcp)", 65536, 20_000),
];

fn bench_dir() -> PathBuf {
    crate::bundled::home().join("runners/python/bench")
}

/// The runner's own environment's interpreter, which runs the raw links (as the runner does for a
/// pipeline without a .venv), else python3.
fn python() -> PathBuf {
    let own = crate::bundled::home().join("runners/python/.venv/bin/python");
    if own.is_file() {
        own
    } else {
        PathBuf::from("python3")
    }
}

fn declarations() -> String {
    let file = crate::fileurl::from_path(&bench_dir().join("processors.py"));
    format!(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix sh: <http://www.w3.org/ns/shacl#>.\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#>.\n\
@prefix b: <https://w3id.org/riffle/bench#>.\n\
b:PySource rdfc:pyImplementationOf rdfc:Processor; rdfc:file <{file}>; rdfc:class \"Source\".\n\
b:PySink rdfc:pyImplementationOf rdfc:Processor; rdfc:file <{file}>; rdfc:class \"Sink\".\n\
[] a sh:NodeShape; sh:targetClass b:PySource; sh:property \
[ sh:path b:output; sh:name \"writer\"; sh:class rdfc:Writer; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:count; sh:name \"count\"; sh:datatype xsd:integer; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:size; sh:name \"size\"; sh:datatype xsd:integer; sh:minCount 1; sh:maxCount 1 ].\n\
[] a sh:NodeShape; sh:targetClass b:PySink; sh:property \
[ sh:path b:input; sh:name \"reader\"; sh:class rdfc:Reader; sh:minCount 1; sh:maxCount 1 ].\n"
    )
}

/// `link` is `python-python` (one Python runner, memory), `rust-python` or `python-rust` (TCP).
fn pipeline(link: &str, size: usize, n: u64) -> String {
    let mut out = declarations();
    let (gen, count) = match link {
        "rust-python" => (
            format!("riffle:Generator; riffle:output <data>; riffle:count {n}; riffle:size {size}; riffle:text false"),
            "b:PySink; b:input <data>".to_owned(),
        ),
        "python-rust" => (
            format!("b:PySource; b:output <data>; b:count {n}; b:size {size}"),
            "riffle:Counter; riffle:input <data>".to_owned(),
        ),
        _ => {
            (format!("b:PySource; b:output <data>; b:count {n}; b:size {size}"), "b:PySink; b:input <data>".to_owned())
        }
    };
    let (consists, transport) = if link == "python-python" {
        ("; rdfc:consistsOf [ rdfc:instantiates riffle:PythonRunner; rdfc:processor <gen>, <count> ]", "")
    } else {
        ("", "; riffle:transport riffle:Tcp")
    };
    out.push_str(&format!(
        "<> a rdfc:Pipeline{consists}.\n<data> a rdfc:Reader, rdfc:Writer{transport}.\n<gen> a {gen}.\n<count> a {count}.\n"
    ));
    out
}

fn seconds(text: &str, what: &str) -> io::Result<Duration> {
    let s: f64 = text.trim().parse().map_err(|_| io::Error::other(format!("{what} said {text:?}")))?;
    Ok(Duration::from_secs_f64(s))
}

fn raw_script() -> PathBuf {
    bench_dir().join("raw.py")
}

fn raw_memory(size: usize, n: u64) -> io::Result<Duration> {
    let out = Command::new(python()).arg(raw_script()).args(["memory", &size.to_string(), &n.to_string()]).output()?;
    seconds(&String::from_utf8_lossy(&out.stdout), "the raw asyncio queue")
}

/// Rust (riffle_channels::raw) writes into Python's raw reader, which times from its first byte to the end.
fn raw_rust_to_python(size: usize, n: u64) -> io::Result<Duration> {
    let mut reader =
        Command::new(python()).arg(raw_script()).arg("tcp-read").stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    let mut lines = BufReader::new(reader.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
    let addr: std::net::SocketAddr = lines
        .next()
        .ok_or_else(|| io::Error::other("the raw Python reader said nothing"))??
        .parse()
        .map_err(io::Error::other)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(riffle_channels::raw::tcp_write(addr, size, n))?;
    let last = lines.next().ok_or_else(|| io::Error::other("the raw Python reader did not count"))??;
    reader.wait()?;
    let (got, secs) = last.split_once(' ').ok_or_else(|| io::Error::other(format!("raw reader said {last:?}")))?;
    if got != n.to_string() {
        return Err(io::Error::other(format!("the raw Python reader got {got} of {n} messages")));
    }
    seconds(secs, "the raw Python reader")
}

/// Python's raw writer into Rust's raw reader (`riffle bench raw-reader`), timed by the writer from its
/// connect to the reader closing after the last frame, so the interpreter's start is not counted.
fn raw_python_to_rust(riffle: &Path, size: usize, n: u64) -> io::Result<Duration> {
    into_raw_reader(riffle, n, |addr| {
        let writer = Command::new(python())
            .arg(raw_script())
            .args(["tcp-write", addr, &size.to_string(), &n.to_string()])
            .stdin(Stdio::null())
            .output()?;
        seconds(&String::from_utf8_lossy(&writer.stdout), "the raw Python writer")
    })
}

pub fn run(runs: usize, scale: f64, out: &mut dyn Write) -> io::Result<()> {
    if !raw_script().is_file() {
        return Err(io::Error::other(format!("{} is missing", raw_script().display())));
    }
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-python-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    writeln!(out, "riffle bench python: pipelines with the Python runner through `riffle run`, median of {runs} runs, beside raw links measured in the same run")?;
    writeln!(out, "{:<38} {:>6} {}", "case (raw baseline)", "size", beside_raw_header())?;
    for &(label, size, messages) in CASES {
        let n = super::scaled(messages, scale);
        let link = label.split(' ').next().unwrap_or_default();
        std::fs::write(folder.join("pipeline.ttl"), pipeline(link, size, n))?;
        let mut raw_link = || match link {
            "python-python" => raw_memory(size, n),
            "rust-python" => raw_rust_to_python(size, n),
            _ => raw_python_to_rust(&riffle, size, n),
        };
        let figures = measure(&riffle, &folder, label, n, runs, Some(&mut raw_link))?;
        writeln!(out, "{label:<38} {size:>6} {}", beside_raw(n, size, &figures))?;
    }
    let encrypted: Vec<TlsCase> = CASES
        .iter()
        .map(|&(label, size, messages)| (label.split(' ').next().unwrap_or_default(), size, messages))
        .filter(|&(link, _, _)| link != "python-python")
        .map(|(link, size, messages)| {
            let n = super::scaled(messages, scale);
            TlsCase { link: link.to_owned(), size, messages: n, pipeline: pipeline(link, size, n) }
        })
        .collect();
    encrypted_beside_plain(&riffle, &folder, &encrypted, runs, out)?;
    std::fs::write(folder.join("pipeline.ttl"), pipeline("rust-python", 64, 1))?;
    let startup = measure(&riffle, &folder, "rust-python, one message", 1, runs.max(5), None)?;
    let first = startup.counted.ok_or_else(|| io::Error::other("the Python sink reported nothing"))?;
    writeln!(
        out,
        "Rust -> Python, one message (median of {}): `riffle run` start to the message counted by the Python sink {}",
        runs.max(5),
        ms(first)
    )?;
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}
