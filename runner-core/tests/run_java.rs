//! `riffle run` end to end with the Java runner (`runners/java`, its jar built by `./scripts/test`): Rust to
//! Java to Rust over TCP and WebSocket with exact counts and order, Java to Java in one JVM, a user processor
//! from a jar, and a Java exception stopping the run with no process left behind.
//!
//! Skipped, with the reason printed, only when `java` is not on PATH.

mod support;

use support::{run_fixture as fixture, text};

use std::path::{Path, PathBuf};
use std::process::Command;

/// False (with the reason printed) when there is no `java`; panics when the runner jar was not built.
fn java_ready(test: &str) -> bool {
    if !support::on_path("java") {
        println!("skipping {test}: `java` is not on PATH");
        return false;
    }
    let jar = support::repo_root().join("runners/java/target/riffle-runner-java.jar");
    assert!(
        jar.is_file(),
        "{} is missing: run ./scripts/test (or `cd runners/java && mvn -B -q package`)",
        jar.display()
    );
    true
}

/// A fresh copy of a fixture folder, for runs that write files.
fn copy_of(name: &str) -> PathBuf {
    let to = std::env::temp_dir().join(support::unique_tag());
    std::fs::create_dir_all(&to).unwrap();
    copy_dir(&fixture(name), &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Compiles the user processors of `java-user/src` into `dir/classes` against the runner jar.
fn compile_user_processors(dir: &Path) {
    let jar = support::repo_root().join("runners/java/target/riffle-runner-java.jar");
    let sources: Vec<PathBuf> =
        ["Reverse.java", "Explode.java"].iter().map(|f| fixture("java-user/src/dev/riffle/example").join(f)).collect();
    let status = Command::new("javac")
        .arg("--release")
        .arg("17")
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(dir.join("classes"))
        .args(&sources)
        .status()
        .expect("javac runs");
    assert!(status.success(), "javac failed");
}

#[test]
fn rust_to_java_to_rust_moves_every_line_in_order_over_tcp_and_websocket() {
    if !java_ready("rust_to_java_to_rust_moves_every_line_in_order_over_tcp_and_websocket") {
        return;
    }
    let lines: Vec<String> = (0..100_000).map(|i| format!("line {i:06} of riffle")).collect();
    let expected: String = lines.iter().map(|l| format!("{}\n", l.to_uppercase())).collect();
    for transport in ["tcp", "websocket"] {
        let dir = copy_of("java-order");
        std::fs::write(dir.join("input.txt"), lines.join("\n")).unwrap();
        let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&dir));
        assert_eq!(output.status.code(), Some(0), "{transport}: {}", text(&output.stderr));
        let written = std::fs::read_to_string(dir.join("output.txt")).unwrap();
        assert_eq!(written.len(), expected.len(), "{transport}");
        assert!(written == expected, "{transport}: the output differs from the input upper-cased, in order");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("\n  <lines>     100,000  2,100,000\n"), "{transport}: {stderr}");
        assert!(stderr.contains("\n  <shouted>   100,000  2,100,000\n"), "{transport}: {stderr}");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn rust_to_java_to_rust_counts_exactly() {
    if !java_ready("rust_to_java_to_rust_counts_exactly") {
        return;
    }
    for transport in ["tcp", "websocket"] {
        let (output, left) =
            support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&fixture("java-upper")));
        assert_eq!(output.status.code(), Some(0), "{transport}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains("[<count>] 100000 messages, 6400000 bytes\n"), "{transport}: {stdout}");
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
    }
}

#[test]
fn java_to_java_in_one_jvm() {
    if !java_ready("java_to_java_in_one_jvm") {
        return;
    }
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&fixture("java-in-one-jvm")));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("[<gen>] sent 100000 messages\n"), "{stdout}");
    assert!(stdout.contains("[<count>] 100000 messages, 6400000 bytes\n"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("starting 1 runner(s)"), "one JVM: {stderr}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_user_processor_from_a_jar_runs_and_its_output_is_logged() {
    if !java_ready("a_user_processor_from_a_jar_runs_and_its_output_is_logged") {
        return;
    }
    let dir = copy_of("java-user");
    compile_user_processors(&dir);
    let status = Command::new("jar")
        .arg("cf")
        .arg(dir.join("user.jar"))
        .arg("-C")
        .arg(dir.join("classes"))
        .arg(".")
        .status()
        .expect("jar runs");
    assert!(status.success());
    std::fs::remove_dir_all(dir.join("classes")).unwrap();
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&dir));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("[<log>] ")).collect();
    assert_eq!(lines, ["[<log>] reversed: olleh", "[<log>] reversed: elffir", "[<log>] reversed: desserts"]);
    assert!(stdout.contains("[<reverse>] reversed everything\n"), "System.out is the processor's log: {stdout}");
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_java_exception_stops_the_run_with_its_stack_and_no_process_left() {
    if !java_ready("a_java_exception_stops_the_run_with_its_stack_and_no_process_left") {
        return;
    }
    let dir = copy_of("java-throws");
    compile_user_processors(&dir);
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--quiet"], Some(&dir));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "error: processor <explode> (runner java) failed in transform: java.lang.IllegalStateException: \
             cannot take abcdefghijklmnop\n  stack:\n    java.lang.IllegalStateException: cannot take abcdefghijklmnop\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("at dev.riffle.example.Explode.fail(Explode.java:"), "the Java stack: {stderr}");
    assert!(stderr.contains("at dev.riffle.example.Explode.transform(Explode.java:"), "{stderr}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sigterm_to_riffle_stops_the_java_runner_cleanly_with_143() {
    if !java_ready("sigterm_to_riffle_stops_the_java_runner_cleanly_with_143") {
        return;
    }
    let stderr = support::sigterm_stops_with_143("endless-java");
    assert!(
        stderr.lines().any(|l| l.starts_with("  <count> ") && l.contains(" stopped ")),
        "the Java processor was stopped: {stderr}"
    );
    assert!(!stderr.contains("did not exit within"), "the JVM stopped on request, unkilled: {stderr}");
}

#[test]
fn sigterm_to_the_jvm_stops_it_cleanly_with_143_and_ends_the_run() {
    if !java_ready("sigterm_to_the_jvm_stops_it_cleanly_with_143_and_ends_the_run") {
        return;
    }
    let tag = support::unique_tag();
    let (child, lines) = support::start_fixture("endless-java", &tag);
    support::signal(support::runner_pid(&tag, "java"), "TERM");
    let (code, stderr) = support::finish(child, lines);
    // A runner that ends on its own is a failure of the run, as for the Rust runner; the JVM itself said bye
    // from its shutdown hook and exited with 128 + SIGTERM, not with "the orchestrator went away".
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: runner java (")
            && stderr.contains(") exited with exit status: 143 before the pipeline finished"),
        "{stderr}"
    );
    assert!(!stderr.contains("the orchestrator went away"), "{stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn channels_without_reader_or_writer_run_and_log_levels_log_every_message() {
    if !java_ready("channels_without_reader_or_writer_run_and_log_levels_log_every_message") {
        return;
    }
    for transport in ["tcp", "websocket"] {
        let (output, left) =
            support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&fixture("unconnected")));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        assert!(left.is_empty(), "{transport}: left running: {left:?}");
        let mut lines: Vec<String> = text(&output.stdout).lines().map(String::from).collect();
        lines.sort();
        assert_eq!(
            lines,
            ["[<gen>] abcdefgh", "[<gen>] abcdefgh", "[<gen>] abcdefgh", "[<gen>] sent 3 messages"],
            "{transport}"
        );
        assert!(stderr.contains("riffle: warning: channel <upped> has no reader: what is written to it is dropped (channel-without-reader)\n"), "{stderr}");
        assert!(
            stderr.contains(
                "riffle: warning: channel <nothing> has no writer: its readers end at once (channel-without-writer)\n"
            ),
            "{stderr}"
        );
        let rows: Vec<Vec<&str>> = stderr.lines().map(|l| l.split_whitespace().collect()).collect();
        assert!(rows.contains(&vec!["<upped>", "(no", "reader:", "dropped)", "3", "24"]), "{stderr}");
        assert!(rows.contains(&vec!["<nothing>", "0", "0"]), "{stderr}");
        assert!(rows.iter().any(|r| r.first() == Some(&"<waiting>") && r.get(1) == Some(&"finished")), "{stderr}");
    }
}
