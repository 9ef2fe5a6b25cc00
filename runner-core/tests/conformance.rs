//! `riffle conformance` against every runner this machine can start: the Rust, JavaScript, Java and Python runners
//! must pass every case over TCP and WebSocket; a runner that breaks the contract must fail, with the reason.
//!
//! The JavaScript, Java and Python runners are skipped, with the reason printed, only when `node`, `java` or
//! `python3` is not on PATH (or the Python runner's virtual environment is absent).

mod support;

use support::text;

const CASES: &[&str] = &[
    "arguments",
    "echo-text",
    "echo-bytes",
    "ordered",
    "fan-in",
    "fan-out",
    "close-empty",
    "large-message",
    "backpressure",
    "wrong-secret",
    "error-init",
    "error-transform",
    "error-after-close",
    "error-produce",
    "crash",
];

/// Runs the whole kit against `runner` and checks that every case passed on both transports, leaving
/// no process behind.
fn passes(runner: &str) {
    let (output, left) = support::riffle_tagged(&["conformance", runner], None);
    let stdout = text(&output.stdout);
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert_eq!(output.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", text(&output.stderr));
    for case in CASES {
        for transport in ["tcp", "websocket"] {
            let line = format!("pass  {case} over {transport} ");
            assert!(stdout.lines().any(|l| l.starts_with(&line)), "no {line:?} in:\n{stdout}");
        }
    }
    assert!(stdout.ends_with("all 30 passed\n"), "{stdout}");
}

#[test]
fn the_rust_runner_passes_the_kit() {
    passes("rust");
}

#[test]
fn the_javascript_runner_passes_the_kit() {
    if !support::on_path("node") {
        println!("skipping the JavaScript runner's conformance: `node` is not on PATH");
        return;
    }
    passes("js");
}

#[test]
fn the_java_runner_passes_the_kit() {
    if !support::on_path("java") {
        println!("skipping the Java runner's conformance: `java` is not on PATH");
        return;
    }
    passes("java");
}

#[test]
fn the_python_runner_passes_the_kit() {
    if !support::on_path("python3") {
        println!("skipping the Python runner's conformance: `python3` is not on PATH");
        return;
    }
    let runner = support::repo_root().join("runners/python");
    if !runner.join(".venv/bin/python").is_file() {
        println!("skipping the Python runner's conformance: its virtual environment is absent (./scripts/build)");
        return;
    }
    passes(runner.join("runner.ttl").to_str().expect("a UTF-8 path"));
}

#[test]
fn a_runner_that_breaks_the_contract_fails_with_the_reasons() {
    let runner = support::repo_root().join("runner-core/tests/conformance/broken-runner/runner.ttl");
    let args = [
        "conformance",
        runner.to_str().unwrap(),
        "--transport",
        "tcp",
        "--case",
        "arguments",
        "--case",
        "echo-text",
        "--case",
        "backpressure",
        "--case",
        "error-transform",
        "--case",
        "crash",
    ];
    let (output, left) = support::riffle_tagged(&args, None);
    let stdout = text(&output.stdout);
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let verdicts: Vec<&str> = stdout.lines().filter(|l| l.starts_with("pass") || l.starts_with("FAIL")).collect();
    let reason = |line: &str| line.split_once(" s  ").map(|(_, reason)| reason.to_string()).unwrap_or_default();
    assert_eq!(verdicts.len(), 5, "{stdout}");
    assert!(verdicts[0].starts_with("pass  arguments over tcp"), "{stdout}");
    assert_eq!(reason(verdicts[1]), "output.txt has 0 lines (0 bytes), expected 1,000 (48,500 bytes)");
    assert!(verdicts[2].starts_with("FAIL  backpressure over tcp"), "{stdout}");
    assert!(
        reason(verdicts[2]).ends_with(
            "ms for room while the slow reader needed at least 2000 ms: the tested runner buffers without bound \
instead of pausing its socket"
        ),
        "{stdout}"
    );
    assert!(verdicts[3].starts_with("FAIL  error-transform over tcp"), "{stdout}");
    assert_eq!(reason(verdicts[4]), "the run finished; a runner that died must fail it");
    assert!(
        stdout.contains(
            "4 of 5 failed: echo-text over tcp, backpressure over tcp, error-transform over tcp, crash over tcp\n"
        ),
        "{stdout}"
    );
}

#[test]
fn an_unknown_runner_or_case_is_an_error_that_lists_what_exists() {
    let (output, _) = support::riffle_tagged(&["conformance", "cobol"], None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "error: no bundled runner is called \"cobol\" (known: java, javascript, python, rust); for a runner that is not \
bundled, give its runner.ttl\n"
    );
    let (output, _) = support::riffle_tagged(&["conformance", "rust", "--case", "echo"], None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!("error: no case is called \"echo\"; the cases are: {}\n", CASES.join(", "))
    );
}
