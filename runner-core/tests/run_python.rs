//! The Python runner (runners/python), which riffle does not bundle: pipelines import its runner.ttl. Rust to
//! Python and Python to Rust over TCP and over WebSocket, 100,000 messages in order with exact counts; a
//! Python processor that raises; and the python-mix example (JavaScript, Python, Java, Rust).
//!
//! Needs the runner's virtual environment (`runners/python/.venv`), which `./scripts/test` makes. Skipped,
//! with the reason printed, only when python3 is not on PATH or the virtual environment is absent.

mod support;

use support::{on_path, text};

/// False, saying why, when python3 or the Python runner's virtual environment is missing.
fn python_ready(test: &str) -> bool {
    if !on_path("python3") {
        println!("skipping {test}: `python3` is not on PATH");
        return false;
    }
    let venv = support::repo_root().join("runners/python/.venv/bin/python");
    if !venv.is_file() {
        println!("skipping {test}: {} is absent (./scripts/build makes it)", venv.display());
        return false;
    }
    true
}

fn imports() -> String {
    let root = support::repo_root().join("runners/python");
    format!(
        "<{}>, <{}>",
        riffle_core::fileurl::from_path(&root.join("runner.ttl")),
        riffle_core::fileurl::from_path(&root.join("conformance.ttl"))
    )
}

const PREFIXES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix owl: <http://www.w3.org/2002/07/owl#>.\n@prefix rcf: <https://w3id.org/riffle/conformance#>.\n";

/// `n` as riffle's summary prints it: 1234567 is "1,234,567".
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits.as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap()).collect();
    groups.join(",")
}

/// The figures of `channel`'s row in riffle's summary (whatever the column widths).
fn row(stderr: &str, channel: &str) -> Vec<String> {
    let line = stderr.lines().find(|l| l.split_whitespace().next() == Some(channel));
    line.map(|l| l.split_whitespace().skip(1).map(str::to_owned).collect()).unwrap_or_default()
}

#[test]
fn rust_to_python_to_rust_keeps_every_message_in_order() {
    if !python_ready("rust_to_python_to_rust_keeps_every_message_in_order") {
        return;
    }
    // Rust reads lines, Python echoes them, Rust writes them: both directions cross the runner boundary.
    let pipeline = format!(
        "{PREFIXES}<> owl:imports {}.\n<> a rdfc:Pipeline.\n<lines> a rdfc:Reader, rdfc:Writer.\n\
<echoed> a rdfc:Reader, rdfc:Writer.\n\
<read> a riffle:FileReader; riffle:file \"input.txt\"; riffle:lines true; riffle:output <lines>.\n\
<echo> a rcf:Echo; rcf:reader <lines>; rcf:writer <echoed>.\n\
<write> a riffle:FileWriter; riffle:input <echoed>; riffle:file \"output.txt\"; riffle:lines true.\n",
        imports()
    );
    let lines: Vec<String> = (0..100_000).map(|i| format!("{i}:line through python")).collect();
    let expected = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let bytes: usize = lines.iter().map(String::len).sum();
    // Encrypted (--tls) too: the Python runner's control and data connections are then TLS, pinned to the run's
    // certificate.
    for (transport, tls) in [("tcp", false), ("websocket", false), ("tcp", true), ("websocket", true)] {
        let dir = support::folder_with(&pipeline);
        std::fs::write(dir.join("input.txt"), lines.join("\n")).unwrap();
        let mut args = vec!["run", "pipeline.ttl", "--transport", transport];
        if tls {
            args.push("--tls");
        }
        let transport = if tls { format!("{transport} --tls") } else { transport.to_string() };
        let (output, left) = support::riffle_tagged(&args, Some(&dir));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        assert!(stderr.contains("starting 2 runner(s)"), "{transport}: {stderr}");
        let counts = ["100,000".to_owned(), grouped(bytes)];
        assert_eq!(row(&stderr, "<lines>"), counts, "{transport}: {stderr}");
        assert_eq!(row(&stderr, "<echoed>"), counts, "{transport}: {stderr}");
        let written = std::fs::read_to_string(dir.join("output.txt")).unwrap();
        assert_eq!(written.len(), expected.len(), "{transport}");
        assert!(written == expected, "{transport}: the file differs from the input, in content or order");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn python_to_rust_delivers_generated_messages_with_exact_counts() {
    if !python_ready("python_to_rust_delivers_generated_messages_with_exact_counts") {
        return;
    }
    // Generated text from Rust into a Python Echo, counted in Rust.
    let pipeline = format!(
        "{PREFIXES}<> owl:imports {}.\n<> a rdfc:Pipeline.\n<numbers> a rdfc:Reader, rdfc:Writer.\n\
<echoed> a rdfc:Reader, rdfc:Writer.\n\
<gen> a riffle:Generator; riffle:count 100000; riffle:size 64; riffle:output <numbers>.\n\
<echo> a rcf:Echo; rcf:reader <numbers>; rcf:writer <echoed>.\n<count> a riffle:Counter; riffle:input <echoed>.\n",
        imports()
    );
    for transport in ["tcp", "websocket"] {
        let dir = support::folder_with(&pipeline);
        let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&dir));
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        // Two processors report on their own: either line may come first.
        let mut lines: Vec<&str> = stdout.lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            ["[<count>] 100000 messages, 6400000 bytes", "[<gen>] sent 100000 messages"],
            "{transport}: {stderr}"
        );
        assert_eq!(row(&stderr, "<echoed>"), ["100,000", "6,400,000"], "{transport}: {stderr}");
        assert_eq!(row(&stderr, "<numbers>"), ["100,000", "6,400,000"], "{transport}: {stderr}");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_python_processor_that_raises_stops_the_run_with_its_traceback() {
    if !python_ready("a_python_processor_that_raises_stops_the_run_with_its_traceback") {
        return;
    }
    let pipeline = format!(
        "{PREFIXES}<> owl:imports {}.\n<> a rdfc:Pipeline.\n<numbers> a rdfc:Reader, rdfc:Writer.\n\
<gen> a riffle:Generator; riffle:count 1000000000; riffle:output <numbers>.\n\
<fail> a rcf:Fail; rcf:reader <numbers>; rcf:phase \"transform\"; rcf:message \"no more, thank you\".\n",
        imports()
    );
    let dir = support::folder_with(&pipeline);
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&dir));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: processor <fail> (runner python) failed in transform: RuntimeError: no more, thank you\n"
        ),
        "{stderr}"
    );
    let processors = support::repo_root().join("runners/python/conformance/processors.py");
    assert!(stderr.contains("    Traceback (most recent call last):\n"), "{stderr}");
    assert!(stderr.contains(&format!("File \"{}\", line ", processors.display())), "{stderr}");
    assert!(stderr.contains("    RuntimeError: no more, thank you"), "{stderr}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_python_mix_example_runs_from_its_folder() {
    if !python_ready("the_python_mix_example_runs_from_its_folder") {
        return;
    }
    for program in ["node", "java"] {
        if !on_path(program) {
            println!("skipping the_python_mix_example_runs_from_its_folder: `{program}` is not on PATH");
            return;
        }
    }
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&support::example("python-mix")));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("starting 4 runner(s)"), "{stderr}");
    support::assert_python_mix_output(&stdout);
    assert!(left.is_empty(), "{left:?}");
}
