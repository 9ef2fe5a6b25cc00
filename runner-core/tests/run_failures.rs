//! `riffle run` when runners misbehave before any data flows: it must stop promptly, say what
//! happened, exit 1, and leave no process behind.

mod support;

use std::path::PathBuf;
use std::process::Output;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/run").join(name).join("pipeline.ttl").display().to_string()
}

fn run_tagged(args: &[&str]) -> (Output, Vec<String>) {
    support::riffle_tagged(args, None)
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
            "error: runner badrunner (sh -c echo starting up >&2; echo cannot find my libraries >&2; exit 3) exited with exit status: 3 \
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
    assert!(err.starts_with("error[memory-across-runners]: channel <shouted> is in memory, but its ends run on 2 runner instances: java, rust\n"), "{err}");
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
    // The secret is in a private file, never in what riffle prints, and the file is gone after the run.
    assert!(!err.contains("RIFFLE_SECRET="), "{err}");
    let file = hint.split(" RIFFLE_SECRET_FILE=").nth(1).unwrap().split(' ').next().unwrap();
    assert!(file.ends_with(".secret"), "{hint}");
    assert!(
        err.contains(&format!(
            "riffle: warning: {file} holds the run's secret, readable only by you, and is removed when the run ends; \
on another host, copy it there first (for example with scp) and keep it private. The runner's data endpoint \
binds the address it reaches riffle from; RIFFLE_DATA_LISTEN (HOST:PORT) and RIFFLE_DATA_ADVERTISE (HOST or \
HOST:PORT) change where it binds and what its peers are told\n"
        )),
        "{err}"
    );
    assert!(!std::path::Path::new(file).exists(), "{file} is left behind");
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
