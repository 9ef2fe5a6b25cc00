//! `riffle run` end to end with the JavaScript runner (runners/js): JS to Rust and Rust to JS over TCP and
//! WebSocket, JS to JS in one Node runner and across two, exact counts and order, a throwing processor, the
//! examples, and unmodified processor packages from npm (installed in runners/js/node_modules by
//! `npm ci`, which `./scripts/test` runs; `tests/run/node_modules` links there).
//!
//! Skipped, saying so, only when `node` is not on PATH.

mod support;

use support::{example, run_fixture as fixture, text};

fn node_missing() -> bool {
    let found = support::on_path("node");
    if !found {
        eprintln!("skipped: `node` is not on PATH, so the JavaScript runner cannot start");
    }
    !found
}

/// Runs `riffle run pipeline.ttl ARGS` in `dir`; asserts exit 0 and that no process was left; returns stdout
/// and stderr.
fn run_ok(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["run", "pipeline.ttl"];
    all.extend_from_slice(args);
    let (output, left) = support::riffle_tagged(&all, Some(dir));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(left.is_empty(), "{args:?}: processes left behind: {left:?}");
    (stdout, stderr)
}

/// The lines a processor logged, in order.
fn lines_of(stdout: &str, processor: &str) -> Vec<String> {
    let prefix = format!("[<{processor}>] ");
    stdout.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_owned).collect()
}

#[test]
fn js_to_rust_and_rust_to_js_over_tcp_and_websocket() {
    if node_missing() {
        return;
    }
    for transport in ["tcp", "websocket"] {
        let (stdout, stderr) = run_ok(&fixture("js-to-rust"), &["--transport", transport]);
        assert_eq!(lines_of(&stdout, "gen"), ["sent 100000 messages"], "{transport}");
        assert_eq!(lines_of(&stdout, "count"), ["100000 messages, 6400000 bytes"], "{transport}");
        assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{transport}: {stderr}");

        let (stdout, stderr) = run_ok(&fixture("rust-to-js"), &["--transport", transport]);
        assert_eq!(lines_of(&stdout, "gen"), ["sent 100000 messages"], "{transport}");
        assert_eq!(lines_of(&stdout, "count"), ["100000 messages, 6400000 bytes, in order"], "{transport}");
        assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{transport}: {stderr}");
    }
}

#[test]
fn js_to_js_in_one_runner_and_across_two_keeps_every_message_in_order() {
    if node_missing() {
        return;
    }
    let (stdout, stderr) = run_ok(&fixture("js-one-runner"), &[]);
    assert_eq!(lines_of(&stdout, "count"), ["100000 messages, 6400000 bytes, in order"]);
    assert_eq!(lines_of(&stdout, "gen"), ["sent 100000 messages"]);
    assert!(stderr.contains("starting 1 runner(s)"), "{stderr}");
    assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{stderr}");
    for transport in ["tcp", "websocket"] {
        let (stdout, stderr) = run_ok(&fixture("js-two-runners"), &["--transport", transport]);
        assert_eq!(lines_of(&stdout, "count"), ["100000 messages, 6400000 bytes, in order"], "{transport}");
        assert!(stderr.contains("starting 2 runner(s)"), "{stderr}");
        assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{transport}: {stderr}");
    }
}

#[test]
fn a_throwing_js_processor_stops_the_run_with_its_iri_and_js_stack() {
    if node_missing() {
        return;
    }
    let dir = fixture("js-throws");
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--quiet"], Some(&dir));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let processors = dir.parent().unwrap().join("js-processors/processors.mjs");
    let expected = format!(
        "error: processor <explode> (runner javascript) failed in transform: cannot take \"abcdefgh\"\n  stack:\n    \
         Error: cannot take \"abcdefgh\"\n        at Explode.transform (file://{}:47:13)\n",
        processors.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn the_js_examples_run_to_completion_from_their_folders() {
    if node_missing() {
        return;
    }
    let (stdout, _) = run_ok(&example("rdfc-echo"), &[]);
    assert_eq!(
        lines_of(&stdout, "log"),
        ["echo: hello", "echo: world", "echo: hello", "echo: world", "echo: hello", "echo: world"]
    );

    let out = std::env::temp_dir().join(format!("{}.txt", support::unique_tag()));
    std::fs::write(&out, "the world is round\nhello world\n").unwrap();
    let dir = example("conn-substitute");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_riffle"));
    let output =
        command.args(["run", "pipeline.ttl"]).current_dir(&dir).env("RIFFLE_EXAMPLE_INPUT", &out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(dir.join("output.txt")).unwrap();
    std::fs::remove_file(dir.join("output.txt")).unwrap();
    std::fs::remove_file(&out).unwrap();
    assert_eq!(written, "the Riffle is round\nhello Riffle\n");

    for transport in ["tcp", "websocket"] {
        let (stdout, _) = run_ok(&example("js-rust"), &["--transport", transport]);
        assert_eq!(
            lines_of(&stdout, "log"),
            ["poem: 1. Rust reads this file,", "poem: 2. Node numbers its lines,", "poem: 3. Rust logs them."],
            "{transport}"
        );
        assert_eq!(lines_of(&stdout, "number"), ["numbered 3 lines"], "{transport}");
    }
}

#[test]
fn unmodified_npm_processor_packages_run_and_their_output_is_attributed() {
    if node_missing() {
        return;
    }
    let (stdout, _) = run_ok(&fixture("js-npm"), &[]);
    let log = lines_of(&stdout, "log");
    assert_eq!(log[0], "hello Riffle", "{stdout}");
    assert_eq!(log.len(), 2, "{stdout}");
    assert!(
        log[1].ends_with(" {log-processor-ts} [npm] \u{1b}[32minfo\u{1b}[39m: [processor] Incoming stream terminated.")
    );
    let read = lines_of(&stdout, "read");
    assert_eq!(read.len(), 1, "{stdout}");
    assert!(read[0].ends_with("info\u{1b}[39m: Reading file 'input/greeting.txt' (from glob pattern 'input/*.txt')"));
    let substitute = lines_of(&stdout, "substitute");
    assert_eq!(substitute.len(), 2, "{stdout}");
    assert!(substitute[0].ends_with("info\u{1b}[39m: Replacing 'world' by 'Riffle' on input text"));
}

#[test]
fn a_class_extending_the_rdfc_js_runner_processor_works() {
    if node_missing() {
        return;
    }
    let (stdout, _) = run_ok(&fixture("js-extends-processor"), &[]);
    assert_eq!(lines_of(&stdout, "shout"), ["shouting from lines to shouted"]);
    assert_eq!(lines_of(&stdout, "log"), ["shouted: HELLO!", "shouted: RIFFLE!"]);
}

/// The conformance processors of runners/js/conformance.ttl (docs/adding-a-runner.md section 8) with Rust
/// peers, over TCP and WebSocket: the pipelines of tests/run/js-conformance, which import that file.
#[test]
fn the_js_conformance_processors_work_with_rust_peers_over_tcp_and_websocket() {
    if node_missing() {
        return;
    }
    let dir = fixture("js-conformance");
    let scratch = std::env::temp_dir().join(support::unique_tag());
    std::fs::create_dir_all(&scratch).unwrap();
    let input: String = (0..1000).map(|i| format!("line {i}: h\u{e9}llo \"w\u{f6}rld\"\t\u{2713}\n")).collect();
    let input_path = scratch.join("input.txt");
    std::fs::write(&input_path, &input).unwrap();
    let run = |pipeline: &str, transport: &str, env: &[(&str, &std::ffi::OsStr)]| {
        let (output, left) = support::riffle_tagged_env(&["run", pipeline, "--transport", transport], Some(&dir), env);
        assert!(left.is_empty(), "{pipeline} over {transport}: processes left behind: {left:?}");
        (output.status.code(), text(&output.stdout), text(&output.stderr))
    };
    for transport in ["tcp", "websocket"] {
        let out = scratch.join(format!("echo-{transport}.txt"));
        let env = [("RIFFLE_TEST_IN", input_path.as_os_str()), ("RIFFLE_TEST_OUT", out.as_os_str())];
        let (code, _, stderr) = run("echo.ttl", transport, &env);
        assert_eq!(code, Some(0), "echo over {transport}: {stderr}");
        assert!(std::fs::read_to_string(&out).unwrap() == input, "echo over {transport}: the lines came back changed");

        let out = scratch.join(format!("arguments-{transport}.json"));
        let (code, _, stderr) = run("arguments.ttl", transport, &[("RIFFLE_TEST_OUT", out.as_os_str())]);
        assert_eq!(code, Some(0), "arguments over {transport}: {stderr}");
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(
            written,
            serde_json::json!({
                "text": "h\u{e9}llo \"w\u{f6}rld\"\n\ttab \u{2713}", "integer": 1234567890123_u64, "negative": -42,
                "double": 0.0025, "decimal": 12.75, "flag": false, "iri": "http://example.org/a?b=1&c=%20#frag",
                "strings": ["first", "second", "third"], "numbers": [3, 1, 2], "none": [], "fallback": "the default",
                "nested": { "name": "inner", "count": 3, "tags": ["x", "y"] },
                "nestedList": [{ "name": "one", "tags": [] }, { "name": "two", "count": 2, "tags": [] }],
            }),
            "arguments over {transport}"
        );

        let (code, stdout, stderr) = run("slow.ttl", transport, &[]);
        assert_eq!(code, Some(0), "slow over {transport}: {stderr}");
        assert!(stdout.contains("[<count>] 1000 messages, 64000 bytes\n"), "slow over {transport}: {stdout}");

        for phase in ["init", "transform", "produce"] {
            let (code, _, stderr) = run("fail.ttl", transport, &[("RIFFLE_TEST_PHASE", phase.as_ref())]);
            assert_eq!(code, Some(1), "fail in {phase} over {transport}: {stderr}");
            let expected = format!(
                "error: processor <fail> (runner javascript) failed in {phase}: deliberate failure: the conformance case\n  stack:\n    Error: deliberate failure: the conformance case\n        at Fail.{phase} (file://"
            );
            assert!(stderr.contains(&expected), "fail in {phase} over {transport}: {stderr}");
        }

        let (code, _, stderr) = run("crash.ttl", transport, &[]);
        assert_eq!(code, Some(1), "crash over {transport}: {stderr}");
        assert!(stderr.contains("error: runner javascript "), "crash over {transport}: {stderr}");
    }
    std::fs::remove_dir_all(scratch).unwrap();
}
