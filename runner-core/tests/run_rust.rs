//! `riffle run` end to end with real Rust runner processes: data moves, counts are exact, and
//! failures, crashes and signals stop the run with the right exit code and no process left behind.
//!
//! The runners are the workspace's own binaries, found next to `riffle`: `./scripts/test` builds
//! them (`cargo build --workspace --bins`) before it runs the tests.

mod support;

use support::{
    example, finish, run_fixture as fixture, runner_pid, signal, start_fixture, start_running_and_seen, text,
    wait_for_line, SAFETY,
};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

#[test]
fn two_rust_runners_move_every_message_over_tcp_and_websocket() {
    for transport in ["tcp", "websocket"] {
        let (output, left) =
            support::riffle_tagged(&["run", "pipeline.ttl", "--transport", transport], Some(&fixture("two-runners")));
        assert_eq!(output.status.code(), Some(0), "{transport}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains("[<count>] 100000 messages, 6400000 bytes\n"), "{transport}: {stdout}");
        assert!(stdout.contains("[<gen>] sent 100000 messages\n"), "{transport}: {stdout}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("\n  <numbers>   100,000  6,400,000\n"),
            "{transport}: the summary counts every message: {stderr}"
        );
        assert!(left.is_empty(), "{transport}: processes left behind: {left:?}");
    }
}

#[test]
fn every_rust_example_runs_to_completion_from_its_folder() {
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&example("rust-generate-count")));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"));
    assert!(left.is_empty(), "{left:?}");

    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl"], Some(&example("rust-custom")));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines: Vec<String> =
        text(&output.stdout).lines().filter(|l| l.starts_with("[<log>] ")).map(str::to_string).collect();
    assert_eq!(lines, ["[<log>] reversed: olleh", "[<log>] reversed: elffir", "[<log>] reversed: desserts"]);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn quiet_prints_only_how_the_run_ended() {
    let (output, left) = support::riffle_tagged(&["run", "pipeline.ttl", "--quiet"], Some(&fixture("two-runners")));
    assert_eq!(output.status.code(), Some(0));
    assert!(left.is_empty(), "{left:?}");
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("riffle: finished in ") && lines[0].ends_with(" s"), "{stderr}");
}

#[test]
fn listen_takes_a_host_name_and_refuses_what_is_not_host_and_port() {
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", "--listen", "localhost:0"], Some(&fixture("two-runners")));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert!(left.is_empty(), "{left:?}");
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", "--listen", "10.0.0.5"], Some(&fixture("two-runners")));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: invalid value '10.0.0.5' for '--listen <LISTEN>': invalid socket address; give HOST:PORT, an address \
or a host name with a port, such as 10.0.0.5:7000\n\nFor more information, try '--help'.\n"
    );
    assert!(left.is_empty(), "{left:?}");
    let (output, _) = support::riffle_tagged(
        &["run", "pipeline.ttl", "--listen", "no-such-host.invalid:0"],
        Some(&fixture("two-runners")),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with("error: invalid value 'no-such-host.invalid:0' for '--listen <LISTEN>': "),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_failing_processor_stops_the_run_and_is_named_as_the_cause() {
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", "--quiet"], Some(&fixture("failing-processor")));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.ends_with(
            "error: processor <read> (runner rust) failed in produce: cannot read no-such-file.txt: No such file or directory (os error 2)\n  \
stack:\n    caused by: No such file or directory (os error 2)\n"
        ),
        "{stderr}"
    );
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn kill_9_of_a_runner_mid_stream_stops_the_run_and_names_it() {
    let tag = support::unique_tag();
    let (child, lines) = start_fixture("endless", &tag);
    signal(runner_pid(&tag, "rust-2"), "KILL");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        error.starts_with("error: runner rust-2 (") && error.contains(" exited with signal: 9 (SIGKILL)"),
        "{error}"
    );
    assert!(!stderr.contains("lost its control connection"), "{stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn sigint_drains_and_stops_with_130() {
    let tag = support::unique_tag();
    let (child, lines) = start_fixture("endless", &tag);
    signal(child.id(), "INT");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("riffle: stopping: interrupted (SIGINT)"), "{stderr}");
    assert!(stderr.contains("riffle: interrupted in "), "{stderr}");
    assert!(!stderr.contains("did not exit within"), "runners stopped on request, unkilled: {stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn sigterm_stops_with_143() {
    support::sigterm_stops_with_143("endless");
}

/// A closed terminal stops the run in order too, with the summary.
#[test]
fn sighup_stops_with_129() {
    let stderr = support::signal_stops("endless", "HUP", 129, "hung up (SIGHUP)");
    assert!(stderr.contains("riffle: interrupted in "), "{stderr}");
}

#[test]
fn an_init_failure_aborts_before_anything_starts() {
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", "--log-format", "json"], Some(&fixture("init-failure")));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr,
        "error: processor <missing> (runner rust-2) failed in init: processor ".to_string()
            + &riffle_core::fileurl::from_path(&fixture("init-failure").join("missing"))
            + " needs class \"NoSuchProcessor\", which this runner does not provide (it provides: ConformanceArguments, \
ConformanceCrash, ConformanceFail, ConformanceSlow, Counter, FileReader, FileWriter, Generator, Log, PassThrough)\n"
    );
    let summary: serde_json::Value = text(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("summary").cloned())
        .expect("a JSON summary");
    let states: Vec<(String, String)> = summary["processors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["processor"].as_str().unwrap();
            (id.rsplit('/').next().unwrap().to_string(), p["state"].as_str().unwrap().to_string())
        })
        .collect();
    let expected = [("count", "not started"), ("gen", "not started"), ("missing", "failed")];
    assert_eq!(states, expected.map(|(p, s)| (p.to_string(), s.to_string())));
    assert_eq!(summary["channels"][0]["messages"], 0);
    assert!(left.is_empty(), "{left:?}");
}

/// Reads riffle's stderr up to the command it prints for the external runner `runner`; returns that
/// line and the rest of stderr. Kills riffle and fails if it never says it.
fn external_hint(riffle: &mut Child, runner: &str) -> (String, std::io::Lines<BufReader<std::process::ChildStderr>>) {
    let mut stderr = BufReader::new(riffle.stderr.take().expect("piped")).lines();
    let wanted = format!("riffle: warning: not starting runner {runner}; start it yourself with ");
    loop {
        match stderr.next() {
            Some(Ok(line)) if line.starts_with(&wanted) => return (line, stderr),
            Some(Ok(_)) => {}
            other => {
                let _ = riffle.kill();
                let _ = riffle.wait();
                panic!("riffle did not say how to start {runner}: {other:?}");
            }
        }
    }
}

/// The value of `NAME=value` in the command riffle printed.
fn hint_value(hint: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    hint.split(' ').find_map(|w| w.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name} in {hint}")).to_string()
}

/// Starts the runner the way the printed command says: its three variables and its program, in the
/// fixture's folder, tagged for the leftover check.
fn start_as_printed(hint: &str, tag: &str) -> Child {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_riffle")).with_file_name(hint.split(' ').next_back().unwrap());
    Command::new(program)
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_CONTROL_URL", hint_value(hint, "RIFFLE_CONTROL_URL"))
        .env("RIFFLE_SECRET_FILE", hint_value(hint, "RIFFLE_SECRET_FILE"))
        .env("RIFFLE_RUNNER_ID", hint_value(hint, "RIFFLE_RUNNER_ID"))
        .env("RIFFLE_TEST_TAG", tag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the runner starts")
}

#[test]
fn a_runner_started_by_hand_joins_the_run() {
    let tag = support::unique_tag();
    let mut riffle = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--external", "rust-2"])
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_TEST_TAG", &tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let (hint, _stderr) = external_hint(&mut riffle, "rust-2");
    // What Riffle printed is all a person needs: the three variables, then the argv. The secret is in the
    // private file it names, which only its owner may read.
    let secret_file = hint_value(&hint, "RIFFLE_SECRET_FILE");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secret_file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{secret_file}");
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap().trim().len(), 64);
    let mut runner = start_as_printed(&hint, &tag);
    let output = riffle.wait_with_output().expect("riffle ends");
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert_eq!(runner.wait().expect("the runner ends").code(), Some(0));
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    assert!(!std::path::Path::new(&secret_file).exists(), "{secret_file} is left behind");
}

/// This host's address on its default route (no packet is sent), if it has one that is not loopback.
fn routable_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// A file holding `secret` that only its owner may read, or also others (`mode`).
fn secret_file_with(secret: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("{}.secret", support::unique_tag()));
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_run_takes_its_secret_from_a_given_file_that_the_printed_command_names_and_that_stays() {
    // As a Kubernetes Secret is mounted: read-only for its owner.
    let given = secret_file_with(&"5e".repeat(32), 0o400);
    let tag = support::unique_tag();
    let mut riffle = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--external", "rust-2", "--secret-file"])
        .arg(&given)
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_TEST_TAG", &tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let (hint, mut stderr) = external_hint(&mut riffle, "rust-2");
    assert_eq!(hint_value(&hint, "RIFFLE_SECRET_FILE"), given.display().to_string(), "{hint}");
    let said = stderr.next().unwrap().unwrap();
    assert!(
        said.starts_with(&format!("riffle: warning: {} holds the run's secret (--secret-file); ", given.display())),
        "{said}"
    );
    let mut runner = start_as_printed(&hint, &tag);
    let output = riffle.wait_with_output().expect("riffle ends");
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert_eq!(runner.wait().expect("the runner ends").code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&given).unwrap(),
        format!("{}\n", "5e".repeat(32)),
        "riffle leaves it as it was"
    );
    std::fs::remove_file(given).unwrap();
}

#[test]
fn a_secret_file_others_may_read_is_refused_before_any_runner_starts() {
    let given = secret_file_with(&"5e".repeat(32), 0o644);
    let (output, left) = support::riffle_tagged(
        &["run", "pipeline.ttl", "--secret-file", given.to_str().unwrap()],
        Some(&fixture("two-runners")),
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: --secret-file {0}: others may read it (mode 644); make it private first (chmod 600 {0}; in \
Kubernetes, defaultMode: 0400 on the Secret's volume)\n",
            given.display()
        )
    );
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_file(given).unwrap();
}

#[test]
fn a_runner_that_joins_a_wildcard_run_from_another_address_is_told_and_announces_reachable_endpoints() {
    let Some(ip) = routable_ip() else {
        println!("skipping: this host has no address beyond loopback");
        return;
    };
    let tag = support::unique_tag();
    // The generator's runner (rust) joins by hand at this host's routable address; the counter's (rust-2)
    // is started by riffle on a wildcard listener, so it announces loopback, which the joiner must not be told.
    let mut riffle = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--listen", "0.0.0.0:0", "--advertise", &ip.to_string(), "--external", "rust"])
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_TEST_TAG", &tag)
        .env("RIFFLE_DEBUG", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let (hint, stderr) = external_hint(&mut riffle, "rust");
    let url = hint_value(&hint, "RIFFLE_CONTROL_URL");
    // Listening beyond loopback, the run is encrypted.
    assert!(url.starts_with(&format!("wss://{ip}:")), "{hint}");
    let mut runner = start_as_printed(&hint, &tag);
    let told: Vec<String> = stderr.map_while(Result::ok).filter(|l| l.contains(" is told the endpoints ")).collect();
    let output = riffle.wait_with_output().expect("riffle ends");
    assert_eq!(output.status.code(), Some(0), "{told:?}");
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert_eq!(runner.wait().expect("the runner ends").code(), Some(0));
    let endpoints = |runner: &str| -> serde_json::Value {
        let line = told.iter().find(|l| l.contains(&format!("runner {runner} is told the endpoints "))).expect("told");
        serde_json::from_str(line.split(" is told the endpoints ").nth(1).unwrap()).unwrap()
    };
    // The joiner bound and announced the address it reached riffle at; the local runner's loopback endpoint
    // is, for the joiner, at that same address of this host; the local runner keeps loopback.
    let (joiner, local) = (endpoints("rust"), endpoints("rust-2"));
    let at_ip = |v: &serde_json::Value| v.as_str().unwrap().starts_with(&format!("{ip}:"));
    assert!(at_ip(&joiner["rust"]) && at_ip(&joiner["rust-2"]), "{joiner}");
    assert!(at_ip(&local["rust"]), "{local}");
    assert!(local["rust-2"].as_str().unwrap().starts_with("127.0.0.1:"), "{local}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

/// The stubborn runner (runner-core/examples/stubborn_runner.rs, built by `cargo test`) follows the
/// protocol up to `start` and then ignores `stop`.
/// Returns once every processor runs and riffle printed each of `also`.
fn start_stubborn(tag: &str, stop_grace: &str, also: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let examples = PathBuf::from(env!("CARGO_BIN_EXE_riffle")).with_file_name("examples");
    let path = std::env::join_paths(
        std::iter::once(examples).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("a valid PATH");
    let mut command = Command::new(env!("CARGO_BIN_EXE_riffle"));
    command.current_dir(fixture("stubborn")).env("PATH", path).args([
        "run",
        "pipeline.ttl",
        "--stop-grace",
        stop_grace,
    ]);
    start_running_and_seen(&mut command, tag, also)
}

#[test]
fn a_runner_that_ignores_stop_is_killed_after_the_grace_period() {
    let tag = support::unique_tag();
    let (child, lines) = start_stubborn(&tag, "0.5", &[]);
    signal(child.id(), "INT");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("riffle: stopping: interrupted (SIGINT)\n"), "{stderr}");
    assert!(
        stderr.contains("riffle: warning: runner stubborn did not exit within 500 ms of stop; killing it\n"),
        "{stderr}"
    );
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn a_second_signal_kills_every_runner_at_once() {
    let tag = support::unique_tag();
    // A grace period no test waits for: only the second signal can end this run.
    let (mut child, lines) = start_stubborn(&tag, "3600", &[]);
    signal(child.id(), "INT");
    wait_for_line(&mut child, &lines, "riffle: stopping: interrupted (SIGINT)");
    signal(child.id(), "INT");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("riffle: second signal: killing every runner now\n"), "{stderr}");
    assert!(!stderr.contains("did not exit within"), "{stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn the_progress_line_shows_messages_and_rate_per_channel() {
    let tag = support::unique_tag();
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--progress", "always"])
        .current_dir(fixture("endless"))
        .env("RIFFLE_TEST_TAG", &tag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    // The line is redrawn in place: split stderr at carriage returns as well as newlines.
    let received = support::pieces(child.stderr.take().expect("piped"));
    // Draws while data moves, until the count has grown (two draws may show the same count when no
    // stats arrived between them): counts never shrink, and the rate is a real figure.
    let mut counts: Vec<u64> = Vec::new();
    while counts.len() < 2 || counts.last() == counts.first() {
        let segment = received.recv_timeout(SAFETY).expect("riffle keeps drawing progress");
        let Some(drawn) = segment.strip_prefix("\x1b[2K<numbers> ") else { continue };
        let (count, rate) = drawn.split_once(" msg (").unwrap_or_else(|| panic!("{drawn:?}"));
        let rate = rate.strip_suffix("/s)").unwrap_or_else(|| panic!("{drawn:?}"));
        let count: u64 = count.replace(',', "").parse().unwrap_or_else(|_| panic!("{drawn:?}"));
        // The first draw may come before anything moved.
        if count > 0 {
            assert!(rate.ends_with('M') || rate.ends_with('k'), "a generator moves thousands a second: {drawn:?}");
            assert!(counts.last().is_none_or(|last| *last <= count), "the count shrank: {counts:?} then {count}");
            counts.push(count);
        }
    }
    signal(child.id(), "INT");
    assert_eq!(child.wait().expect("riffle exits").code(), Some(130));
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn a_runner_that_dies_is_named_with_its_last_log_lines() {
    let tag = support::unique_tag();
    // The runner's log line is on stdout, riffle's "starting" on stderr.
    let (child, lines) = start_stubborn(&tag, "2", &["[runner stubborn] started; I will ignore stop"]);
    signal(runner_pid(&tag, "stubborn"), "KILL");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("\n  its last output:\n    started; I will ignore stop"),
        "the log line it sent over the control connection is quoted: {stderr}"
    );
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
}

#[test]
fn an_encrypted_run_with_a_runner_started_from_the_printed_command_keeps_every_message() {
    let tag = support::unique_tag();
    let mut riffle = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--tls", "--external", "rust-2"])
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_TEST_TAG", &tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let (hint, _stderr) = external_hint(&mut riffle, "rust-2");
    assert!(hint_value(&hint, "RIFFLE_CONTROL_URL").starts_with("wss://127.0.0.1:"), "{hint}");
    let file = std::fs::read_to_string(hint_value(&hint, "RIFFLE_SECRET_FILE")).expect("the secret file");
    assert!(
        file.contains("\n-----BEGIN CERTIFICATE-----\n") && file.contains("\n-----BEGIN PRIVATE KEY-----\n"),
        "{file}"
    );
    let mut runner = start_as_printed(&hint, &tag);
    let output = riffle.wait_with_output().expect("riffle ends");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert_eq!(runner.wait().expect("the runner ends").code(), Some(0));
}

#[test]
fn an_encrypted_run_takes_its_certificate_from_a_file_riffle_secret_made_and_refuses_one_without() {
    let made = std::env::temp_dir().join(format!("{}.secret", support::unique_tag()));
    let (output, _) = support::riffle_tagged(&["secret", made.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let (output, left) = support::riffle_tagged(
        &["run", "pipeline.ttl", "--tls", "--transport", "websocket", "--secret-file", made.to_str().unwrap()],
        Some(&fixture("two-runners")),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("[<count>] 100000 messages, 6400000 bytes\n"), "{}", text(&output.stdout));
    assert!(left.is_empty(), "{left:?}");

    let secret_only = secret_file_with(&"5e".repeat(32), 0o600);
    let (output, left) = support::riffle_tagged(
        &["run", "pipeline.ttl", "--tls", "--secret-file", secret_only.to_str().unwrap()],
        Some(&fixture("two-runners")),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).ends_with(&format!(
            "error: --secret-file {} holds no certificate: an encrypted run (--tls) also needs the run's certificate and \
key in it, after the secret; make such a file with `riffle secret FILE`\n",
            secret_only.display()
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stderr).contains("<count>    not started"), "{}", text(&output.stderr));
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_file(made).unwrap();
    std::fs::remove_file(secret_only).unwrap();
}
