//! Three languages in one run: JavaScript to Java to Rust and Rust to Java to JavaScript, over TCP and
//! over WebSocket, 100,000 messages in order with exact counts; and the polyglot example.
//!
//! Needs the JS runner's packages (`npm ci` in runners/js) and the Java runner's jar, which
//! `./scripts/test` installs and builds. Skipped, with the reason printed, only when `node` or `java` is
//! not on PATH.

mod support;

use support::{on_path, text};

use std::path::Path;

/// False, saying why, when node or java is missing; panics when the runners were not built.
fn runners_ready(test: &str) -> bool {
    for program in ["node", "java"] {
        if !on_path(program) {
            println!("skipping {test}: `{program}` is not on PATH");
            return false;
        }
    }
    let root = support::repo_root();
    for needed in ["runners/java/target/riffle-runner-java.jar", "runners/js/node_modules/ws/package.json"] {
        assert!(
            root.join(needed).is_file(),
            "{needed} is missing: run ./scripts/test (it installs and builds the runners)"
        );
    }
    true
}

fn js_processors() -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run/js-processors/processors.ttl");
    riffle_core::fileurl::from_path(&file)
}

const PREFIXES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix owl: <http://www.w3.org/2002/07/owl#>.\n@prefix t: <https://w3id.org/riffle/tests#>.\n";

#[test]
fn javascript_to_java_to_rust_keeps_every_message_in_order() {
    if !runners_ready("javascript_to_java_to_rust_keeps_every_message_in_order") {
        return;
    }
    let pipeline = format!(
        "{PREFIXES}<> owl:imports <{}>.\n<> a rdfc:Pipeline.\n<numbers> a rdfc:Reader, rdfc:Writer.\n\
<shouted> a rdfc:Reader, rdfc:Writer.\n<gen> a t:Numbers; t:output <numbers>; t:count 100000; t:size 64.\n\
<upper> a riffle:UpperCase; riffle:input <numbers>; riffle:output <shouted>.\n\
<write> a riffle:FileWriter; riffle:input <shouted>; riffle:file \"output.txt\".\n",
        js_processors()
    );
    // What t:Numbers sends (message i is "i:" then the alphabet, 64 bytes in all), upper-cased in Java.
    let alphabet = "abcdefghijklmnopqrstuvwxyz".repeat(4);
    let expected: String = (0..100_000)
        .map(|i| {
            let head = format!("{i}:");
            format!("{head}{}\n", &alphabet[..64 - head.len()]).to_uppercase()
        })
        .collect();
    for transport in ["tcp", "websocket"] {
        let dir = support::folder_with(&pipeline);
        let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&dir));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        assert!(stderr.contains("starting 3 runner(s)"), "{transport}: one runner per language: {stderr}");
        assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{transport}: {stderr}");
        assert!(stderr.contains("\n  <shouted>   100,000  6,400,000\n"), "{transport}: {stderr}");
        let written = std::fs::read_to_string(dir.join("output.txt")).unwrap();
        assert_eq!(written.len(), expected.len(), "{transport}");
        assert!(written == expected, "{transport}: the sink's file differs from what JS sent, upper-cased, in order");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn rust_to_java_to_javascript_keeps_every_message_in_order() {
    if !runners_ready("rust_to_java_to_javascript_keeps_every_message_in_order") {
        return;
    }
    let pipeline = format!(
        "{PREFIXES}<> owl:imports <{}>.\n<> a rdfc:Pipeline.\n<lines> a rdfc:Reader, rdfc:Writer.\n\
<shouted> a rdfc:Reader, rdfc:Writer.\n\
<read> a riffle:FileReader; riffle:file \"input.txt\"; riffle:lines true; riffle:output <lines>.\n\
<upper> a riffle:UpperCase; riffle:input <lines>; riffle:output <shouted>.\n<count> a t:Tally; t:input <shouted>.\n",
        js_processors()
    );
    // t:Tally checks that message i starts with "i:".
    let lines: Vec<String> = (0..100_000).map(|i| format!("{i}:line of riffle")).collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    for transport in ["tcp", "websocket"] {
        let dir = support::folder_with(&pipeline);
        std::fs::write(dir.join("input.txt"), lines.join("\n")).unwrap();
        let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&dir));
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        let tallied: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("[<count>] ")).collect();
        assert_eq!(tallied, [format!("100000 messages, {bytes} bytes, in order")], "{transport}: {stdout}");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn the_polyglot_example_runs_from_its_folder() {
    if !runners_ready("the_polyglot_example_runs_from_its_folder") {
        return;
    }
    let folder = support::repo_root().join("pipelines/polyglot");
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&folder));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "[<log>] shouted: HELLO\n[<log>] shouted: POLYGLOT\n[<log>] shouted: WORLD\n");
    assert!(left.is_empty(), "{left:?}");
}
