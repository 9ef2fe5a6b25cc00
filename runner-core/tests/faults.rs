//! The fault suite across languages (issue: reliability): a runner of each kind killed with `kill -9`
//! mid-stream, SIGTERM with a Node runner in the run, the control port already in use, and a 1 GiB message
//! end to end. Each asserts the exit code, the error text, and that no process is left behind.
//! Processor errors in every phase, a runner crash and a wrong secret for each language are the
//! conformance kit's cases (`tests/conformance.rs`); the Rust runner's own faults are in `run_rust.rs`.
//!
//! The JavaScript and Java cases are skipped, with the reason printed, only when `node` or `java` is absent.

mod support;

use support::{finish, run_fixture as fixture, runner_pid, signal, start_fixture, text};

/// Kills `runner` of the endless `pipeline` with SIGKILL once data flows, and checks that the run stops,
/// names that runner, and leaves nothing behind.
fn kill_9_mid_stream(pipeline: &str, runner: &str) {
    let tag = support::unique_tag();
    let (child, lines) = start_fixture(pipeline, &tag);
    signal(runner_pid(&tag, runner), "KILL");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        error.starts_with(&format!("error: runner {runner} lost its control connection: "))
            || error.starts_with(&format!("error: runner {runner} ("))
                && error.contains(" exited with signal: 9 (SIGKILL)"),
        "{error}"
    );
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn kill_9_of_the_node_runner_mid_stream_stops_the_run_and_names_it() {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    kill_9_mid_stream("endless-js", "javascript");
}

#[test]
fn kill_9_of_the_java_runner_mid_stream_stops_the_run_and_names_it() {
    if !support::on_path("java") {
        println!("skipping: `java` is not on PATH");
        return;
    }
    kill_9_mid_stream("endless-java", "java");
}

#[test]
fn sigterm_with_a_node_runner_stops_every_runner_with_143() {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    support::sigterm_stops_with_143("endless-js");
}

#[test]
fn a_control_port_in_use_is_an_error_before_any_runner_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = taken.local_addr().expect("bound").to_string();
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", "--listen", &address], Some(&fixture("endless")));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.ends_with(&format!(
            "error: cannot listen for runners on {address}: Address already in use (os error 98)\n"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("  <gen>      not started     -\n"), "{stderr}");
    assert!(left.is_empty(), "{left:?}");
}

/// Needs about 2 GiB of memory (the machine has 24): the writer's message and the reader's copy.
#[test]
fn a_one_gib_message_crosses_from_runner_to_runner() {
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&fixture("one-gib")));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("[<count>] 1 messages, 1073741824 bytes\n"), "{stdout}");
    assert!(stderr.contains("  <huge>          1  1,073,741,824\n"), "{stderr}");
    assert!(left.is_empty(), "{left:?}");
}
