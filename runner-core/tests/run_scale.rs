//! Scale: 5,000 networked channels into one runner's endpoint, for each runner (issue 17; Java: 1,000, see its test). Each pipeline is
//! generated here: Rust generators feed, over 5,000 channels, either Rust counters in a second Rust runner or
//! the conformance Echo of another language, whose 5,000 outputs come back to Rust counters; every counter
//! must have carried its exact count, as riffle's summary reports it. Also prints how long each whole run took.
//!
//! The JavaScript, Java and Python cases are skipped, with the reason printed, only when `node`, `java` or the
//! Python runner's virtual environment is absent.

mod support;

use std::fmt::Write as _;
use support::text;

const CHANNELS: usize = 5000;
const MESSAGES: usize = 3;
const SIZE: usize = 8;

const PREFIXES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix owl: <http://www.w3.org/2002/07/owl#>.\n@prefix rcf: <https://w3id.org/riffle/conformance#>.\n";

/// Runs the pipeline and checks that each of the `CHANNELS` counters got exactly its messages.
/// One run at a time: the times printed are each run's own, not four sharing two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn runs_with_exact_counts(name: &str, channels: usize, prefixes: &[&str], pipeline: &str) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = support::folder_with(pipeline);
    let started = std::time::Instant::now();
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&dir));
    let took = started.elapsed();
    let stderr = text(&output.stderr);
    // Without the summary's 10,000 rows.
    let said: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("  <")).take(40).collect();
    assert_eq!(output.status.code(), Some(0), "{name}: {}", said.join("\n"));
    // The summary's row of every channel: the exact count. (Not the counters' 5,000 log lines: the Rust
    // runner drops log lines rather than block when its control connection is behind, and says so.)
    let rows: std::collections::HashMap<&str, Vec<&str>> = stderr
        .lines()
        .filter(|l| l.starts_with("  <"))
        .map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next().unwrap_or_default(), fields.collect())
        })
        .collect();
    let (messages, bytes) = (MESSAGES.to_string(), (MESSAGES * SIZE).to_string());
    for prefix in prefixes {
        for i in 0..channels {
            let channel = format!("<{prefix}{i}>");
            assert_eq!(rows.get(channel.as_str()), Some(&vec![messages.as_str(), bytes.as_str()]), "{name}: {channel}");
        }
    }
    assert!(left.is_empty(), "{name}: processes left behind: {left:?}");
    println!("{name}: {channels} channels, whole run {} ms", took.as_millis());
    std::fs::remove_dir_all(dir).unwrap();
}

fn generators(out: &mut String, channel: &str, channels: usize) {
    for i in 0..channels {
        let _ = writeln!(out, "<{channel}{i}> a rdfc:Reader, rdfc:Writer.");
        let _ = writeln!(
            out,
            "<g{i}> a riffle:Generator; riffle:count {MESSAGES}; riffle:size {SIZE}; riffle:output <{channel}{i}>."
        );
    }
}

/// Generators in one Rust runner, each feeding a counter in another over a channel of its own.
fn rust_to_rust() -> String {
    let mut pipeline = String::from(PREFIXES);
    let list = |prefix: &str| (0..CHANNELS).map(|i| format!("<{prefix}{i}>")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        pipeline,
        "<> a rdfc:Pipeline; rdfc:consistsOf [ rdfc:instantiates riffle:RustRunner; rdfc:processor {} ],\n  \
         [ rdfc:instantiates riffle:RustRunner; rdfc:processor {} ].",
        list("g"),
        list("c")
    );
    generators(&mut pipeline, "n", CHANNELS);
    for i in 0..CHANNELS {
        let _ = writeln!(pipeline, "<c{i}> a riffle:Counter; riffle:input <n{i}>.");
    }
    pipeline
}

#[test]
fn five_thousand_channels_from_one_rust_runner_into_another() {
    let pipeline = rust_to_rust();
    runs_with_exact_counts("rust -> rust", CHANNELS, &["n"], &pipeline);
}

/// Rust generators -> `language`'s Echo (5,000 channels into its endpoint) -> Rust counters (5,000 back).
fn through_echo_of(language: &str, runner_dir: &str, channels: usize) {
    let root = support::repo_root().join("runners").join(runner_dir);
    let mut pipeline = String::from(PREFIXES);
    let _ = writeln!(
        pipeline,
        "<> owl:imports <{}>, <{}>.\n<> a rdfc:Pipeline.",
        riffle_core::fileurl::from_path(&root.join("runner.ttl")),
        riffle_core::fileurl::from_path(&root.join("conformance.ttl"))
    );
    generators(&mut pipeline, "n", channels);
    for i in 0..channels {
        let _ = writeln!(pipeline, "<e{i}> a rdfc:Reader, rdfc:Writer.");
        let _ = writeln!(pipeline, "<x{i}> a rcf:Echo; rcf:reader <n{i}>; rcf:writer <e{i}>.");
        let _ = writeln!(pipeline, "<c{i}> a riffle:Counter; riffle:input <e{i}>.");
    }
    runs_with_exact_counts(&format!("rust -> {language} -> rust"), channels, &["n", "e"], &pipeline);
}

#[test]
fn five_thousand_channels_into_the_node_runner_and_back() {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    through_echo_of("javascript", "js", CHANNELS);
}

#[test]
fn a_thousand_channels_into_the_java_runner_and_back() {
    if !support::on_path("java") {
        println!("skipping: `java` is not on PATH");
        return;
    }
    // Not 5,000: the Java runner starts about four threads per channel (reader, writer, its watcher, the
    // processor), some 440 a second here, so at 5,000 the last writers miss the 10 s hello timeout. Four
    // times the old 256 bound still proves the guard lets the run's own writers in.
    through_echo_of("java", "java", 1000);
}

#[test]
fn five_thousand_channels_into_the_python_runner_and_back() {
    let venv = support::repo_root().join("runners/python/.venv/bin/python");
    if !venv.is_file() {
        println!("skipping: {} is absent (./scripts/build makes it)", venv.display());
        return;
    }
    through_echo_of("python", "python", CHANNELS);
}

/// Under a hard open-file limit too low for 5,000 channel ends, riffle says so, naming the runner, the limit
/// and how to raise it, and starts nothing.
#[test]
fn too_low_an_open_file_limit_is_an_error_before_any_runner_starts() {
    use std::os::unix::process::CommandExt;
    let pipeline = rust_to_rust();
    let dir = support::folder_with(&pipeline);
    let tag = support::unique_tag();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_riffle"));
    command.args(["run", "pipeline.ttl"]).current_dir(&dir).env("RIFFLE_TEST_TAG", &tag);
    // SAFETY: setrlimit is async-signal-safe; lowering a limit needs no privilege.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 1024, rlim_max: 2048 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().expect("riffle runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    // Each runner holds 5,000 ends; which of the two is named is the tie-break's (the first id).
    assert_eq!(
        error,
        "error: runner rust's 5000 network channel ends need about 5256 open files, above the open-file limit of \
         2048 (RLIMIT_NOFILE, hard limit 2048); raise it with `ulimit -n 5256` (or `ulimit -Hn` as root, or \
         LimitNOFILE= in a systemd unit) and run again",
        "{stderr}"
    );
    assert!(!stderr.contains("starting 2 runner(s)"), "{stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}
