//! `riffle run` when runners misbehave before any data flows: it must stop promptly, say what
//! happened, exit 1, and leave no process behind.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/run").join(name).join("pipeline.ttl").display().to_string()
}

/// Runs riffle with a unique tag in its environment, which every child inherits, and returns its
/// output and the processes still alive afterwards that carry the tag.
fn run_tagged(args: &[&str]) -> (Output, Vec<String>) {
    let tag = format!("riffle-test-{}-{}", std::process::id(), args.join("-").len() + rand_suffix());
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(args)
        .env("RIFFLE_TEST_TAG", &tag)
        .output()
        .expect("riffle runs");
    (output, processes_tagged(&tag))
}

fn rand_suffix() -> usize {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as usize).unwrap_or(0)
}

fn processes_tagged(tag: &str) -> Vec<String> {
    let needle = format!("RIFFLE_TEST_TAG={tag}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(environ) = std::fs::read(entry.path().join("environ")) {
            if environ.split(|b| *b == 0).any(|var| var == needle.as_bytes()) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(format!("{name}: {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
            }
        }
    }
    found
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn a_runner_that_never_connects_times_out_and_is_killed() {
    let (output, left) = run_tagged(&["run", &fixture("never-connects"), "--connect-timeout", "1", "--quiet"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stderr(&output), "error: runner badrunner (sleep 30) did not connect within 1 s\n");
    assert_eq!(left, Vec::<String>::new(), "processes left behind");
}

#[test]
fn a_runner_that_exits_at_once_fails_the_run() {
    let (output, left) = run_tagged(&["run", &fixture("exits-at-once"), "--quiet"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "error: runner badrunner (false) exited with exit status: 1 before the pipeline finished\n"
    );
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn a_dying_runner_shows_its_last_output() {
    let (output, left) = run_tagged(&["run", &fixture("dies-talking")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.ends_with(
            "error: runner badrunner (sh -c echo starting up; echo cannot find my libraries >&2; exit 3) exited with exit status: 3 \
before the pipeline finished\n  its last output:\n    starting up\n    cannot find my libraries\n"
        ),
        "{err}"
    );
    // Without --quiet, what the runner printed also reached the user as it happened.
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("[runner badrunner] starting up\n"), "{out}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn forcing_memory_across_runners_is_refused_before_starting() {
    let pipeline =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pipelines/polyglot/pipeline.ttl").display().to_string();
    let (output, left) = run_tagged(&["run", &pipeline, "--transport", "memory"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.starts_with("error[memory-across-runners]: channel <shouted> is in memory, but its ends run on 2 runner instances: java, javascript\n"), "{err}");
    assert!(err.ends_with("2 problems found; nothing was started.\n"), "{err}");
    assert!(left.is_empty());
}

#[test]
fn an_external_runner_is_not_started_and_is_told_how_to_join() {
    let (output, left) =
        run_tagged(&["run", &fixture("never-connects"), "--external", "badrunner", "--connect-timeout", "1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    let hint = err
        .lines()
        .find(|l| l.starts_with("riffle: warning: not starting runner badrunner; start it yourself with "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(hint.contains(" RIFFLE_CONTROL_URL=ws://127.0.0.1:"), "{hint}");
    assert!(hint.ends_with(" RIFFLE_RUNNER_ID=badrunner sleep 30"), "{hint}");
    let secret = hint.split(" RIFFLE_SECRET=").nth(1).unwrap().split(' ').next().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(err.ends_with("error: runner badrunner (sleep 30) did not connect within 1 s\n"), "{err}");
    // Nothing was started, so nothing can be left.
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_unknown_external_runner_is_refused() {
    let (output, _) = run_tagged(&["run", &fixture("never-connects"), "--external", "java"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr(&output), "error: --external java: the plan has no such runner instance (it has: badrunner)\n");
}
