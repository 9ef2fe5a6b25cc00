//! The flood guard of every runner's data endpoint (issue 17): while a pipeline runs, more silent strangers
//! than the guard's bound (256) connect to the endpoint of the runner under test; a connection that says a
//! proper hello still gets its answer at once, and every stranger is closed (the oldest to make room, the rest
//! at the hello timeout, shortened here with RIFFLE_HELLO_TIMEOUT_MS). Then the run stops on SIGTERM with
//! nothing left behind.
//!
//! The JavaScript, Java and Python cases are skipped, with the reason printed, only when `node`, `java` or the
//! Python runner's virtual environment is absent.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{finish, runner_pid, signal, start_running};

const STRANGERS: usize = 300;
const REFUSE: u8 = 3;

const PREFIXES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
@prefix owl: <http://www.w3.org/2002/07/owl#>.\n@prefix rcf: <https://w3id.org/riffle/conformance#>.\n\
@prefix t: <https://w3id.org/riffle/tests#>.\n";

/// A folder holding `pipeline.ttl`: `body` after the prefixes and an endless generator into `<numbers>`.
fn pipeline(body: &str) -> PathBuf {
    support::folder_with(&format!(
        "{PREFIXES}<numbers> a rdfc:Reader, rdfc:Writer.\n\
         <gen> a riffle:Generator; riffle:output <numbers>; riffle:count 1000000000000; riffle:size 64.\n{body}"
    ))
}

fn import(path: &Path) -> String {
    format!("<{}>", riffle_core::fileurl::from_path(path))
}

/// The TCP port `pid` listens on (its data endpoint: runners listen on nothing else), from /proc.
fn listening_port(pid: u32) -> u16 {
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the runner's fds").flatten() {
        if let Ok(link) = std::fs::read_link(fd.path()) {
            if let Some(inode) = link.to_str().and_then(|l| l.strip_prefix("socket:[")?.strip_suffix(']')) {
                inodes.push(inode.to_owned());
            }
        }
    }
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local address, state 0A (LISTEN), inode
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap();
                return u16::from_str_radix(port, 16).unwrap();
            }
        }
    }
    panic!("runner process {pid} listens on no TCP port");
}

fn environment(pid: u32, key: &str) -> String {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the runner's environment");
    let prefix = format!("{key}=");
    environ
        .split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| panic!("{key} is not in the runner's environment"))
}

/// The answer to a proper hello for `channel` (already fully connected): its kind byte and text.
fn hello_answer(port: u16, secret: &str, channel: &str) -> (u8, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(support::SAFETY)).unwrap();
    let hello = serde_json::json!({ "version": 1, "secret": secret, "channel": channel, "writer": "latecomer" });
    let payload = hello.to_string().into_bytes();
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.push(1);
    frame.extend_from_slice(&payload);
    s.write_all(&frame).expect("hello");
    let mut head = [0u8; 5];
    s.read_exact(&mut head).expect("an answer to the hello while the strangers are connected");
    let mut text = vec![0u8; u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize];
    s.read_exact(&mut text).expect("the answer's text");
    (head[4], String::from_utf8_lossy(&text).into_owned())
}

/// Reads until the endpoint closes `s` (a reset counts), failing on anything it sends.
fn closed_without_a_word(mut s: TcpStream) {
    s.set_read_timeout(Some(support::SAFETY)).unwrap();
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => assert!(got.is_empty(), "a stranger was sent {got:?}"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("a silent stranger was not closed: {e}"),
    }
}

fn flood(runner: &str, dir: &Path) {
    let tag = support::unique_tag();
    let mut command = Command::new(env!("CARGO_BIN_EXE_riffle"));
    command.args(["run", "pipeline.ttl"]).current_dir(dir).env("RIFFLE_HELLO_TIMEOUT_MS", "1000");
    let (child, lines) = start_running(&mut command, &tag);
    let pid = runner_pid(&tag, runner);
    let port = listening_port(pid);
    let strangers: Vec<TcpStream> =
        (0..STRANGERS).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("a stranger connects")).collect();
    let channel = riffle_core::fileurl::from_path(&dir.join("numbers"));
    let (kind, text) = hello_answer(port, &environment(pid, "RIFFLE_SECRET"), &channel);
    assert_eq!(kind, REFUSE, "{runner}: {text}");
    assert!(text.starts_with(&format!("channel {channel}: ")) && text.contains("expected"), "{runner}: {text}");
    for s in strangers {
        closed_without_a_word(s);
    }
    signal(child.id(), "TERM");
    let (code, stderr) = finish(child, lines);
    assert_eq!(code, Some(143), "{runner}: {stderr}");
    // Each stranger was closed once, for one of the two reasons.
    let prefix = format!("[runner {runner}] warning: ");
    let closed = stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| l.contains("no hello within") || l.contains("handshakes were pending and a newer one arrived"))
        .count();
    assert_eq!(closed, STRANGERS, "{runner}: {stderr}");
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_rust_endpoint_sheds_a_flood_of_silent_strangers() {
    let dir = pipeline(
        "<count> a riffle:Counter; riffle:input <numbers>.\n<> a rdfc:Pipeline; rdfc:consistsOf\n  \
         [ rdfc:instantiates riffle:RustRunner; rdfc:processor <gen> ],\n  \
         [ rdfc:instantiates riffle:RustRunner; rdfc:processor <count> ].\n",
    );
    flood("rust-2", &dir);
}

#[test]
fn the_node_endpoint_sheds_a_flood_of_silent_strangers() {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    let processors = support::run_fixture("js-processors").join("processors.ttl");
    let dir = pipeline(&format!(
        "<> owl:imports {}.\n<> a rdfc:Pipeline.\n<count> a t:Tally; t:input <numbers>.\n",
        import(&processors)
    ));
    flood("javascript", &dir);
}

#[test]
fn the_java_endpoint_sheds_a_flood_of_silent_strangers() {
    if !support::on_path("java") {
        println!("skipping: `java` is not on PATH");
        return;
    }
    let dir = pipeline("<> a rdfc:Pipeline.\n<count> a riffle:JavaCounter; riffle:input <numbers>.\n");
    flood("java", &dir);
}

#[test]
fn the_python_endpoint_sheds_a_flood_of_silent_strangers() {
    let root = support::repo_root().join("runners/python");
    if !root.join(".venv/bin/python").is_file() {
        println!("skipping: runners/python/.venv is absent (./scripts/build makes it)");
        return;
    }
    let dir = pipeline(&format!(
        "<> owl:imports {}, {}.\n<> a rdfc:Pipeline.\n<echoed> a rdfc:Reader, rdfc:Writer.\n\
         <echo> a rcf:Echo; rcf:reader <numbers>; rcf:writer <echoed>.\n<count> a riffle:Counter; riffle:input <echoed>.\n",
        import(&root.join("runner.ttl")),
        import(&root.join("conformance.ttl"))
    ));
    flood("python", &dir);
}
