//! Three languages in one run: JavaScript to Java to Rust and Rust to Java to JavaScript, over TCP and
//! over WebSocket, 100,000 messages in order with exact counts; the polyglot example; and runs across
//! three hosts (network namespaces, as root; skipped with the reason otherwise).
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

/// JavaScript numbers, upper-cased in Java, written to a file by Rust.
fn numbers_upper_cased_to_file(count: u64) -> String {
    format!(
        "{PREFIXES}<> owl:imports <{}>.\n<> a rdfc:Pipeline.\n<numbers> a rdfc:Reader, rdfc:Writer.\n\
<shouted> a rdfc:Reader, rdfc:Writer.\n<gen> a t:Numbers; t:output <numbers>; t:count {count}; t:size 64.\n\
<upper> a riffle:UpperCase; riffle:input <numbers>; riffle:output <shouted>.\n\
<write> a riffle:FileWriter; riffle:input <shouted>; riffle:file \"output.txt\".\n",
        js_processors()
    )
}

/// What [`numbers_upper_cased_to_file`] writes: message i is "i:" then the alphabet, 64 bytes in all,
/// upper-cased, one per line.
fn numbers_upper_cased(count: usize) -> String {
    let alphabet = "abcdefghijklmnopqrstuvwxyz".repeat(4);
    (0..count)
        .map(|i| {
            let head = format!("{i}:");
            format!("{head}{}\n", &alphabet[..64 - head.len()]).to_uppercase()
        })
        .collect()
}

#[test]
fn javascript_to_java_to_rust_keeps_every_message_in_order() {
    if !runners_ready("javascript_to_java_to_rust_keeps_every_message_in_order") {
        return;
    }
    let pipeline = numbers_upper_cased_to_file(100_000);
    let expected = numbers_upper_cased(100_000);
    // Encrypted on loopback too (--tls): every runner's control and data connections are then TLS.
    for transport in ["tcp", "websocket", "tcp --tls", "websocket --tls"] {
        let dir = support::folder_with(&pipeline);
        let mut args = vec!["run", "pipeline.ttl", "--transport"];
        args.extend(transport.split(' '));
        let (output, left) = support::riffle_tagged(&args, Some(&dir));
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

// Runs across hosts: three network namespaces on one machine (support/hosts.rs). riffle and its Rust
// runner live on host 0, the JavaScript runner on host 1, the Java runner on host 2; the two external
// runners are started with nothing but the command riffle printed for each, pasted into a shell there.

/// The hosts, or None after saying why this machine cannot make them.
fn hosts_for(test: &str) -> Option<support::hosts::Hosts> {
    if !runners_ready(test) {
        return None;
    }
    match support::hosts::Hosts::create(3) {
        Ok(hosts) => Some(hosts),
        Err(why) => {
            println!("skipping {test}: {why}");
            None
        }
    }
}

struct AcrossHosts {
    riffle: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Each external runner's shell, with the file its output goes to.
    runners: Vec<(String, std::process::Child, std::path::PathBuf)>,
}

/// riffle on host 0 listening on every address, told to advertise its subnet address; then each
/// external runner started on its host from the printed command alone.
fn start_across_hosts(hosts: &support::hosts::Hosts, dir: &Path, tag: &str, transport: &str) -> AcrossHosts {
    start_across_hosts_with(hosts, dir, tag, transport, &[])
}

fn start_across_hosts_with(
    hosts: &support::hosts::Hosts,
    dir: &Path,
    tag: &str,
    transport: &str,
    more: &[&str],
) -> AcrossHosts {
    let mut riffle = hosts
        .command(0, env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--transport", transport])
        .args(more)
        .args(["--listen", "0.0.0.0:0", "--advertise", &hosts.address(0)])
        .args(["--external", "javascript", "--external", "java"])
        .current_dir(dir)
        .env("RIFFLE_TEST_TAG", tag)
        .env("RIFFLE_DEBUG", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let lines = support::pieces(riffle.stderr.take().expect("piped"));
    let mut runners = Vec::new();
    while runners.len() < 2 {
        let Ok(line) = lines.recv_timeout(support::SAFETY) else {
            let _ = riffle.kill();
            panic!("riffle did not print how to start both external runners");
        };
        let Some(rest) = line.strip_prefix("riffle: warning: not starting runner ") else { continue };
        let (runner, command) = rest.split_once("; start it yourself with ").expect("the hint's shape");
        let host = if runner == "javascript" { 1 } else { 2 };
        let log = dir.join(format!("{runner}.log"));
        let shell = hosts
            .command(host, "sh")
            .args(["-c", command])
            .current_dir(dir)
            .env("RIFFLE_TEST_TAG", tag)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("sh starts");
        runners.push((runner.to_string(), shell, log));
    }
    AcrossHosts { riffle, lines, runners }
}

/// The endpoints riffle told `runner` (its RIFFLE_DEBUG line), by runner.
fn endpoints_told(lines: &str, runner: &str) -> serde_json::Value {
    let prefix = format!("riffle: runner {runner} is told the endpoints ");
    let line = lines.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{lines}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_run_across_three_hosts_started_from_what_riffle_printed_keeps_every_message() {
    let Some(hosts) = hosts_for("a_run_across_three_hosts_started_from_what_riffle_printed_keeps_every_message") else {
        return;
    };
    let expected = numbers_upper_cased(100_000);
    for transport in ["tcp", "websocket"] {
        let (tag, dir) = (support::unique_tag(), support::folder_with(&numbers_upper_cased_to_file(100_000)));
        // A secret the test knows, to look for it on the wire; riffle makes it as for any user.
        let made = std::process::Command::new(env!("CARGO_BIN_EXE_riffle"))
            .args(["secret", "run.secret"])
            .current_dir(&dir)
            .output();
        assert!(made.unwrap().status.success());
        let secret = std::fs::read_to_string(dir.join("run.secret")).unwrap().lines().next().unwrap().to_string();
        // Every packet riffle's host sees: the bridge to both other hosts, and its loopback to its Rust runner.
        let capture = match hosts.capture(0, &dir.join("wire.pcap")) {
            Ok(capture) => Some(capture),
            Err(why) => {
                println!("not capturing the traffic of {transport}: {why}");
                None
            }
        };
        let run = start_across_hosts_with(&hosts, &dir, &tag, transport, &["--secret-file", "run.secret"]);
        let (code, stderr) = support::finish(run.riffle, run.lines);
        assert_eq!(code, Some(0), "{transport}: {stderr}");
        for (runner, mut shell, log) in run.runners {
            let status = shell.wait().expect("the runner ends");
            assert_eq!(status.code(), Some(0), "{transport}: {runner}: {}", std::fs::read_to_string(log).unwrap());
        }
        assert!(stderr.contains("\n  <numbers>   100,000  6,400,000\n"), "{transport}: {stderr}");
        assert!(stderr.contains("\n  <shouted>   100,000  6,400,000\n"), "{transport}: {stderr}");
        let written = std::fs::read_to_string(dir.join("output.txt")).unwrap();
        assert!(written == expected, "{transport}: the file differs from what JavaScript sent, upper-cased, in order");
        // Each runner announced the address its host reached riffle from, and the Rust runner's loopback
        // endpoint on riffle's host is, for the others, at riffle's subnet address.
        let (js, java) = (endpoints_told(&stderr, "javascript"), endpoints_told(&stderr, "java"));
        let on = |v: &serde_json::Value, host: usize| {
            v.as_str().is_some_and(|a| a.starts_with(&format!("{}:", hosts.address(host))))
        };
        assert!(on(&js["java"], 2) && on(&java["javascript"], 1) && on(&java["rust"], 0), "{transport}: {js} {java}");
        assert!(support::processes_tagged(&tag).is_empty(), "{transport}: {:?}", support::processes_tagged(&tag));
        if let Some(capture) = capture {
            // Listening beyond loopback, the run is encrypted: neither the secret nor a message (lower case
            // from JavaScript to Java, upper case from Java to Rust) crosses any link in clear, although
            // more bytes than both streams of messages together did cross.
            let wire = capture.finish();
            assert!(wire.len() > 2 * 6_400_000, "{transport}: only {} bytes captured", wire.len());
            for clear in [secret.as_str(), "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] {
                let seen = wire.windows(clear.len()).any(|w| w == clear.as_bytes());
                assert!(!seen, "{transport}: {clear} crossed the wire in clear");
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_host_whose_link_is_cut_mid_run_fails_the_run_within_the_bound_naming_runner_and_host() {
    let Some(hosts) =
        hosts_for("a_host_whose_link_is_cut_mid_run_fails_the_run_within_the_bound_naming_runner_and_host")
    else {
        return;
    };
    let (tag, dir) = (support::unique_tag(), support::folder_with(&numbers_upper_cased_to_file(1_000_000_000)));
    let mut run = start_across_hosts(&hosts, &dir, &tag, "tcp");
    support::wait_for_line(&mut run.riffle, &run.lines, "riffle: every processor is initialised; starting");
    let cut_at = std::time::Instant::now();
    hosts.cut(2);
    let (code, stderr) = support::finish(run.riffle, run.lines);
    let riffle_took = cut_at.elapsed();
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    let head =
        format!("error: runner java lost its control connection: its host {} has been silent for ", hosts.address(2));
    assert!(error.starts_with(&head), "{error}");
    assert!(error.ends_with(" s: no answer to heartbeats (--heartbeat-timeout)"), "{error}");
    // The cut-off Java runner hears nothing from riffle either and exits by itself; the JavaScript one is
    // stopped by riffle.
    let mut exits = Vec::new();
    for (runner, mut shell, log) in run.runners {
        let status = shell.wait().expect("the runner ends");
        exits.push((runner.clone(), status.code(), cut_at.elapsed()));
        if runner == "java" {
            let said = std::fs::read_to_string(log).unwrap();
            assert_eq!(status.code(), Some(1), "{said}");
            assert!(said.contains("the orchestrator has been silent for "), "{said}");
        }
    }
    println!("link cut -> riffle exited in {} ms; runners: {exits:?}", riffle_took.as_millis());
    // With the default deadline the whole run, its stop included, is over within the 5 s the README says.
    assert!(riffle_took < std::time::Duration::from_secs(5), "riffle took {riffle_took:?}");
    assert!(exits.iter().all(|(_, _, took)| *took < std::time::Duration::from_secs(5)), "{exits:?}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_link_cut_between_two_runner_hosts_fails_the_run_within_the_bound_naming_the_channel() {
    let Some(hosts) =
        hosts_for("a_link_cut_between_two_runner_hosts_fails_the_run_within_the_bound_naming_the_channel")
    else {
        return;
    };
    let (tag, dir) = (support::unique_tag(), support::folder_with(&numbers_upper_cased_to_file(1_000_000_000)));
    let mut run = start_across_hosts(&hosts, &dir, &tag, "tcp");
    support::wait_for_line(&mut run.riffle, &run.lines, "riffle: every processor is initialised; starting");
    // JavaScript (host 1) writes <numbers> to Java (host 2); both still hear riffle (host 0).
    let cut_at = std::time::Instant::now();
    hosts.cut_between(1, 2);
    let (code, stderr) = support::finish(run.riffle, run.lines);
    let riffle_took = cut_at.elapsed();
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("channel ") && error.contains("/numbers"), "{error}");
    // The Java runner reads <numbers>: it names the JavaScript runner's host.
    let silent = format!(
        "the link to {} went silent: no answer to keepalive probes within the heartbeat deadline",
        hosts.address(1)
    );
    assert!(error.contains(&silent), "{error}");
    for (runner, mut shell, log) in run.runners {
        let status = shell.wait().expect("the runner ends");
        assert!(status.code().is_some(), "{runner}: {}", std::fs::read_to_string(log).unwrap());
    }
    println!("link between hosts 1 and 2 cut -> riffle exited in {} ms", riffle_took.as_millis());
    assert!(riffle_took < std::time::Duration::from_secs(5), "riffle took {riffle_took:?}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}
