//! `riffle bench js`: pipelines with the JavaScript runner through `riffle run`, each beside a raw Node link
//! measured in the same run (runners/js/bench/raw.mjs), and RDF-Connect class processors (source, optional
//! pass-through, sink; runners/js/bench/processors.mjs) beside the figures RDF-Connect's own setup measured
//! (DESIGN section 5).

use super::ms;
use super::pipeline::{beside_raw, beside_raw_header, encrypted_beside_plain, measure, rate, TlsCase};
use crate::run::report::grouped;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// RDF-Connect (orchestrator-js 2.2.2 + js-runner 3.0.2), measured by RDF-Connect's authors' setup, DESIGN §5:
/// messages per second (middle of the measured range) by stages and size; `None` where it was not measured.
const RDFC_MSGS: &[(usize, usize, Option<f64>)] = &[
    (2, 64, Some(1875.0)),
    (2, 1024, Some(1875.0)),
    (2, 65536, Some(615.0)),
    (3, 64, Some(950.0)),
    (3, 1024, Some(950.0)),
    (3, 65536, None),
];
/// RDF-Connect's peak memory of the process tree under load, DESIGN §5 (280-320 MB).
const RDFC_PEAK_MB: f64 = 300.0;

fn js_dir() -> PathBuf {
    crate::bundled::home().join("runners/js")
}

const SHAPES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix sh: <http://www.w3.org/ns/shacl#>.\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#>.\n\
@prefix b: <https://w3id.org/riffle/bench#>.\n";

/// The bench processors' declarations: Source (count, size, text), Pass, Sink.
pub(crate) fn declarations() -> String {
    let file = js_dir().join("bench/processors.mjs");
    let file = format!("file://{}", file.display());
    let mut out = String::from(SHAPES);
    for class in ["Source", "Pass", "Sink"] {
        out.push_str(&format!(
            "b:{class} rdfc:jsImplementationOf rdfc:Processor; rdfc:file <{file}>; rdfc:class \"{class}\".\n"
        ));
    }
    out.push_str(
        "[] a sh:NodeShape; sh:targetClass b:Source; sh:property \
[ sh:path b:output; sh:name \"writer\"; sh:class rdfc:Writer; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:count; sh:name \"count\"; sh:datatype xsd:integer; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:size; sh:name \"size\"; sh:datatype xsd:integer; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:text; sh:name \"text\"; sh:datatype xsd:boolean; sh:maxCount 1; sh:defaultValue false ].\n\
[] a sh:NodeShape; sh:targetClass b:Pass; sh:property \
[ sh:path b:input; sh:name \"reader\"; sh:class rdfc:Reader; sh:minCount 1; sh:maxCount 1 ], \
[ sh:path b:output; sh:name \"writer\"; sh:class rdfc:Writer; sh:minCount 1; sh:maxCount 1 ].\n\
[] a sh:NodeShape; sh:targetClass b:Sink; sh:property \
[ sh:path b:input; sh:name \"reader\"; sh:class rdfc:Reader; sh:minCount 1; sh:maxCount 1 ].\n",
    );
    out
}

/// A JS source through `passes` JS pass-throughs into a JS sink, all in one Node runner.
fn js_chain(stages: usize, size: usize, n: u64) -> String {
    let mut out = declarations();
    let passes = stages.saturating_sub(2);
    let mut names = vec!["<gen>".to_owned()];
    names.extend((0..passes).map(|i| format!("<pass{i}>")));
    names.push("<count>".to_owned());
    out.push_str(&format!(
        "<> a rdfc:Pipeline; rdfc:consistsOf [ rdfc:instantiates rdfc:NodeRunner; rdfc:processor {} ].\n",
        names.join(", ")
    ));
    for i in 0..=passes {
        out.push_str(&format!("<c{i}> a rdfc:Reader, rdfc:Writer.\n"));
    }
    out.push_str(&format!("<gen> a b:Source; b:output <c0>; b:count {n}; b:size {size}.\n"));
    for i in 0..passes {
        out.push_str(&format!("<pass{i}> a b:Pass; b:input <c{i}>; b:output <c{}>.\n", i + 1));
    }
    out.push_str(&format!("<count> a b:Sink; b:input <c{passes}>.\n"));
    out
}

/// A JS source feeding a Rust counter (`js_writes`), or a Rust generator feeding a JS sink, over TCP.
fn crossing(js_writes: bool, size: usize, n: u64) -> String {
    let mut out = declarations();
    let (gen, count, first, second) = if js_writes {
        (
            format!("b:Source; b:output <data>; b:count {n}; b:size {size}"),
            "riffle:Counter; riffle:input <data>",
            "rdfc:NodeRunner",
            "riffle:RustRunner",
        )
    } else {
        (
            format!("riffle:Generator; riffle:output <data>; riffle:count {n}; riffle:size {size}; riffle:text false"),
            "b:Sink; b:input <data>",
            "riffle:RustRunner",
            "rdfc:NodeRunner",
        )
    };
    out.push_str(&format!(
        "<> a rdfc:Pipeline; rdfc:consistsOf [ rdfc:instantiates {first}; rdfc:processor <gen> ], [ rdfc:instantiates {second}; rdfc:processor <count> ].\n\
<data> a rdfc:Reader, rdfc:Writer; riffle:transport riffle:Tcp.\n<gen> a {gen}.\n<count> a {count}.\n"
    ));
    out
}

fn raw_script() -> PathBuf {
    js_dir().join("bench/raw.mjs")
}

/// Raw Node in one process: a bounded queue, a promise only when full or empty.
fn raw_memory(size: usize, n: u64) -> io::Result<Duration> {
    let output = Command::new("node").arg(raw_script()).args(["memory", &size.to_string(), &n.to_string()]).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let seconds: f64 = text.trim().parse().map_err(|_| io::Error::other(format!("raw memory said {text:?}")))?;
    Ok(Duration::from_secs_f64(seconds))
}

/// A raw TCP link into a Node reader (first byte to end, as the reader measures it), written by Node
/// (`node_writes`) or by Rust (riffle_channels::raw).
fn raw_tcp_into_node(node_writes: bool, size: usize, n: u64) -> io::Result<Duration> {
    let mut reader = Command::new("node").arg(raw_script()).arg("tcp-read").stdout(Stdio::piped()).spawn()?;
    let mut lines = BufReader::new(reader.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?).lines();
    let addr = lines.next().ok_or_else(|| io::Error::other("the raw reader said nothing"))??;
    if node_writes {
        let status = Command::new("node")
            .arg(raw_script())
            .args(["tcp-write", &addr, &size.to_string(), &n.to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other("the raw Node writer failed"));
        }
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let addr: std::net::SocketAddr = addr.parse().map_err(io::Error::other)?;
        runtime.block_on(riffle_channels::raw::tcp_write(addr, size, n))?;
    }
    let last = lines.next().ok_or_else(|| io::Error::other("the raw reader did not count"))??;
    reader.wait()?;
    let (got, seconds) = last.split_once(' ').ok_or_else(|| io::Error::other(format!("raw reader said {last:?}")))?;
    if got != n.to_string() {
        return Err(io::Error::other(format!("the raw reader got {got} of {n} messages")));
    }
    Ok(Duration::from_secs_f64(seconds.parse().map_err(io::Error::other)?))
}

pub fn run(runs: usize, scale: f64, out: &mut dyn Write) -> io::Result<()> {
    let riffle = std::env::current_exe()?;
    let folder = std::env::temp_dir().join(format!("riffle-bench-js-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let count = |n: u64| super::scaled(n, scale);
    writeln!(out, "riffle bench js: pipelines with the JavaScript runner through `riffle run`, median of {runs} runs, beside raw Node links measured in the same run")?;
    writeln!(out, "{:<34} {:>6} {}", "case (raw baseline)", "size", beside_raw_header())?;
    let cases: [(&str, usize, u64); 5] = [
        ("js-js memory (node queue)", 64, 2_000_000),
        ("js-rust tcp (node-node tcp)", 64, 2_000_000),
        ("js-rust tcp (node-node tcp)", 65536, 20_000),
        ("rust-js tcp (rust-node tcp)", 64, 2_000_000),
        ("rust-js tcp (rust-node tcp)", 65536, 20_000),
    ];
    for (label, size, messages) in cases {
        let n = count(messages);
        let ttl = match label.split(' ').next() {
            Some("js-js") => js_chain(2, size, n),
            Some("js-rust") => crossing(true, size, n),
            _ => crossing(false, size, n),
        };
        std::fs::write(folder.join("pipeline.ttl"), ttl)?;
        let mut raw_link = || match label.split(' ').next() {
            Some("js-js") => raw_memory(size, n),
            Some("js-rust") => raw_tcp_into_node(true, size, n),
            _ => raw_tcp_into_node(false, size, n),
        };
        let figures = measure(&riffle, &folder, label, n, runs, Some(&mut raw_link))?;
        writeln!(out, "{label:<34} {size:>6} {}", beside_raw(n, size, &figures))?;
    }
    let encrypted: Vec<TlsCase> =
        [(true, 64, 1_000_000), (true, 65536, 20_000), (false, 64, 1_000_000), (false, 65536, 20_000)]
            .into_iter()
            .map(|(js_writes, size, messages)| {
                let n = count(messages);
                let link = if js_writes { "js-rust" } else { "rust-js" }.to_owned();
                TlsCase { link, size, messages: n, pipeline: crossing(js_writes, size, n) }
            })
            .collect();
    encrypted_beside_plain(&riffle, &folder, &encrypted, runs, out)?;
    std::fs::write(folder.join("pipeline.ttl"), js_chain(2, 64, 1))?;
    let startup = measure(&riffle, &folder, "JS-only, one message", 1, runs.max(5), None)?;
    let first = startup.counted.ok_or_else(|| io::Error::other("the sink reported nothing"))?;
    writeln!(
        out,
        "JS-only pipeline, one message (median of {}): start to the message counted at the sink {}",
        runs.max(5),
        ms(first)
    )?;

    writeln!(out, "\nRDF-Connect class processors (source -> [pass ->] sink) in one Node runner, beside RDF-Connect \
(measured by RDF-Connect's authors' setup, DESIGN §5: orchestrator-js 2.2.2 + js-runner 3.0.2; peak {RDFC_PEAK_MB:.0} MB)")?;
    writeln!(
        out,
        "{:<8} {:>6} {:>10} {:>14} {:>12} {:>9} {:>10} {:>12}",
        "stages", "size", "messages", "rdfc msg/s", "riffle msg/s", "ratio", "peak RSS", "of rdfc peak"
    )?;
    for &(stages, size, rdfc) in RDFC_MSGS {
        let base = match size {
            64 => 1_000_000,
            1024 => 500_000,
            _ => 20_000,
        };
        let n = count(base);
        std::fs::write(folder.join("pipeline.ttl"), js_chain(stages, size, n))?;
        let figures = measure(&riffle, &folder, &format!("{stages} stages, {size} B"), n, runs, None)?;
        let (msgs, _) = rate(n, size, figures.data);
        let peak_mb = figures.peak_rss_kib as f64 / 1024.0;
        let (rdfc_text, ratio) = match rdfc {
            Some(r) => (grouped(r as u64), format!("{:.0}x", msgs / r)),
            None => ("not measured".to_owned(), "-".to_owned()),
        };
        writeln!(
            out,
            "{stages:<8} {size:>6} {:>10} {rdfc_text:>14} {:>12} {ratio:>9} {:>7.1} MB {:>11.0}%",
            grouped(n),
            grouped(msgs as u64),
            peak_mb,
            peak_mb / RDFC_PEAK_MB * 100.0
        )?;
    }
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}
