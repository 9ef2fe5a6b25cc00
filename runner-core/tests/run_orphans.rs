//! No process of a run outlives riffle (issue 17): a JS processor starts a shell, which starts a `sleep` in
//! the runner's process group and another in a session of its own (`setsid`); every recorded pid must be gone
//! once riffle has exited, whether the run finished, a processor failed, or riffle was stopped by SIGTERM,
//! SIGINT or SIGHUP. (When riffle itself is SIGKILLed only the runners go, by PR_SET_PDEATHSIG; see
//! docs/protocol.md.)
//!
//! Skipped, with the reason printed, only when `node` is absent.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{finish, signal, start_running_and_seen};

const SPAWNED: &str = "[<spawn>] spawned 3 processes";

/// A folder with the pipeline: a Rust generator of `count` messages into the Spawner.
fn pipeline(count: u64, fail: bool) -> PathBuf {
    let processors = support::run_fixture("orphans").join("processors.ttl");
    let text = format!(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n\
         @prefix owl: <http://www.w3.org/2002/07/owl#>.\n@prefix t: <https://w3id.org/riffle/tests#>.\n\
         <> owl:imports <{}>.\n<> a rdfc:Pipeline.\n<numbers> a rdfc:Reader, rdfc:Writer.\n\
         <gen> a riffle:Generator; riffle:output <numbers>; riffle:count {count}; riffle:size 8.\n\
         <spawn> a t:Spawner; t:input <numbers>; t:pids \"pids.txt\"; t:fail {fail}.\n",
        riffle_core::fileurl::from_path(&processors)
    );
    support::folder_with(&text)
}

fn recorded(dir: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(dir.join("pids.txt")).expect("the processor recorded its children");
    let pids: Vec<u32> = text.lines().map(|l| l.trim().parse().expect("a pid")).collect();
    assert_eq!(pids.len(), 3, "{text}");
    pids
}

/// Waits (polling /proc, with a deadline) until none of `pids` exists; fails naming the survivors.
fn all_gone(pids: &[u32]) {
    let deadline = Instant::now() + support::SAFETY;
    loop {
        let alive: Vec<String> =
            pids.iter().filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()).collect();
        if alive.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running after riffle exited: {alive:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts the run and returns once the processor's three processes exist.
fn started(dir: &Path, tag: &str) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_riffle"));
    command.args(["run", "pipeline.ttl"]).current_dir(dir);
    start_running_and_seen(&mut command, tag, &[SPAWNED])
}

fn stopped_by(signal_name: &str, code: i32) {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    let dir = pipeline(1_000_000_000_000, false);
    let tag = support::unique_tag();
    let (child, lines) = started(&dir, &tag);
    let pids = recorded(&dir);
    signal(child.id(), signal_name);
    let (exit, stderr) = finish(child, lines);
    assert_eq!(exit, Some(code), "{stderr}");
    all_gone(&pids);
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sigterm_leaves_no_child_or_grandchild_of_a_processor() {
    stopped_by("TERM", 143);
}

#[test]
fn sigint_leaves_no_child_or_grandchild_of_a_processor() {
    stopped_by("INT", 130);
}

#[test]
fn sighup_leaves_no_child_or_grandchild_of_a_processor() {
    stopped_by("HUP", 129);
}

fn ended(fail: bool, code: i32) {
    if !support::on_path("node") {
        println!("skipping: `node` is not on PATH");
        return;
    }
    let dir = pipeline(3, fail);
    let tag = support::unique_tag();
    let (child, lines) = started(&dir, &tag);
    let pids = recorded(&dir);
    let (exit, stderr) = finish(child, lines);
    assert_eq!(exit, Some(code), "{stderr}");
    if fail {
        assert!(stderr.contains("failing on purpose, with 3 processes started"), "{stderr}");
    }
    all_gone(&pids);
    assert!(support::processes_tagged(&tag).is_empty(), "{:?}", support::processes_tagged(&tag));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_finished_run_leaves_no_child_or_grandchild_of_a_processor() {
    ended(false, 0);
}

#[test]
fn a_failed_processor_leaves_no_child_or_grandchild_behind() {
    ended(true, 1);
}
