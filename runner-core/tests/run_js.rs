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
    let input = fixture("js-npm").join("input");
    let (file, glob) = (input.join("greeting.txt"), input.join("*.txt"));
    let reading = format!("info\u{1b}[39m: Reading file '{}' (from glob pattern '{}')", file.display(), glob.display());
    assert!(read[0].ends_with(&reading), "{stdout}");
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

#[test]
fn shacl_path_arguments_reach_a_js_processor_as_rdf_lens_lenses() {
    if node_missing() {
        return;
    }
    let (stdout, _) = run_ok(&fixture("js-path-lens"), &[]);
    assert_eq!(
        lines_of(&stdout, "follow"),
        ["names: \"Ada\", \"Bob\"", "friends: BlankNode, BlankNode", "back: BlankNode, BlankNode"]
    );
}

#[test]
fn a_shacl_path_argument_without_rdf_lens_beside_the_processor_fails_init_saying_what_to_install() {
    if node_missing() {
        return;
    }
    let dir = support::folder_with(&std::fs::read_to_string(fixture("js-path-lens").join("pipeline.ttl")).unwrap());
    std::fs::write(
        dir.join("processors.mjs"),
        "export class Follow {\n  constructor(args) { Object.assign(this, args); }\n  async init() {}\n  async transform() {}\n  async produce() {}\n}\n",
    )
    .unwrap();
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&dir));
    assert_eq!(output.status.code(), Some(1));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let base = riffle_core::fileurl::folder_of(&dir.join("pipeline.ttl"));
    let expected = format!(
        "error: processor <follow> (runner javascript) failed in init: processor {base}follow: an argument is a SHACL \
path (rdfl:PathLens), which reaches a JavaScript processor as an rdf-lens lens, but rdf-lens cannot be loaded from {}/processors.mjs \
(MODULE_NOT_FOUND); install it there: npm install rdf-lens",
        dir.display()
    );
    let stderr = text(&output.stderr);
    assert!(stderr.lines().any(|l| l == expected), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
