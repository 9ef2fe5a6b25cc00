//! What the integration tests share: resolution that does not depend on this machine.

#![allow(dead_code)]

pub mod hosts;

use riffle_core::resolve::{resolve, Options, Resolution};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// Programs the bundled runners (and pipelines/rust-custom's own runner) need count as installed,
/// under a fixed path, so that expected outputs are the same on every machine, and so does the Python
/// runner's interpreter; anything else is missing.
pub fn fake_program(program: &str, _dir: &Path) -> Option<PathBuf> {
    ["node", "java", "python3", "riffle-runner-rust", "my-rust-runner"]
        .contains(&program)
        .then(|| PathBuf::from(format!("/opt/fake/bin/{program}")))
}

/// Every runner is ready: its files and interpreter are not looked at.
pub fn fake_check(_runner: &riffle_core::runners::RunnerInfo, _dir: &Path) -> riffle_core::runners::Readiness {
    riffle_core::runners::Readiness::default()
}

/// One variable is set; every other is missing.
pub fn fake_env(key: &str) -> Option<String> {
    (key == "RIFFLE_TEST_SET").then(|| "from-the-environment".to_string())
}

pub fn resolve_here(path: &Path) -> Resolution {
    resolve(path, &Options { env: &fake_env, find_program: &fake_program, check_runner: &fake_check })
}

/// A pipeline folder under tests/run.
pub fn run_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run").join(name)
}

/// An example pipeline folder under pipelines/.
pub fn example(name: &str) -> PathBuf {
    repo_root().join("pipelines").join(name)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// Whether `program` is a file in one of PATH's folders.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner-core has a parent").to_path_buf()
}

/// `RIFFLE_BLESS=1 cargo test` rewrites expected files instead of comparing against them.
pub fn blessing() -> bool {
    std::env::var_os("RIFFLE_BLESS").is_some_and(|v| v == "1")
}

/// A folder of its own (under the temporary folder, named by [`unique_tag`]) holding `pipeline.ttl`
/// with `pipeline` in it, for runs that write files or need files beside the pipeline.
pub fn folder_with(pipeline: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_tag());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pipeline.ttl"), pipeline).unwrap();
    dir
}

/// A tag unique to one call, for [`riffle_tagged`] and [`processes_tagged`].
pub fn unique_tag() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("riffle-test-{}-{n}-{nanos}", std::process::id())
}

/// Runs the riffle binary (in `dir`, if given) with a unique tag in its environment, which every
/// process it starts inherits; returns its output and the tagged processes still alive after it.
pub fn riffle_tagged(args: &[&str], dir: Option<&Path>) -> (std::process::Output, Vec<String>) {
    let tag = unique_tag();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_riffle"));
    command.args(args).env("RIFFLE_TEST_TAG", &tag).env("RUST_BACKTRACE", "0");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().expect("riffle runs");
    (output, processes_tagged(&tag))
}

/// Processes (pid and command line) whose environment carries `RIFFLE_TEST_TAG=tag`.
pub fn processes_tagged(tag: &str) -> Vec<String> {
    let needle = format!("RIFFLE_TEST_TAG={tag}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc is readable").flatten() {
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

/// What `stream` prints, split at newlines and also at carriage returns (a redrawn progress line is
/// one piece per draw), piece by piece as it arrives.
pub fn pieces(mut stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (send, pieces) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut pending, mut chunk) = (Vec::new(), [0u8; 4096]);
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            pending.extend_from_slice(&chunk[..n]);
            while let Some(end) = pending.iter().position(|b| *b == b'\r' || *b == b'\n') {
                let piece: Vec<u8> = pending.drain(..=end).collect();
                if send.send(String::from_utf8_lossy(&piece[..end]).to_string()).is_err() {
                    return;
                }
            }
        }
    });
    pieces
}

/// Generous: these only stop a broken run from hanging the suite; nothing asserts on time.
pub const SAFETY: std::time::Duration = std::time::Duration::from_secs(60);

/// `riffle run pipeline.ttl` in the run fixture `name`, returned once every processor runs (see
/// [`start_running`]).
pub fn start_fixture(name: &str, tag: &str) -> (Child, mpsc::Receiver<String>) {
    start_running(
        Command::new(env!("CARGO_BIN_EXE_riffle")).args(["run", "pipeline.ttl"]).current_dir(run_fixture(name)),
        tag,
    )
}

/// SIGTERM to riffle while the endless run fixture `name` moves data: it stops every runner on request,
/// exits 143 and leaves no process behind. Returns riffle's stderr for further checks.
pub fn sigterm_stops_with_143(name: &str) -> String {
    signal_stops(name, "TERM", 143, "terminated (SIGTERM)")
}

/// `signal` to riffle while the endless run fixture `name` moves data: it stops every runner in order,
/// says `reason`, exits with `code` and leaves no process behind. Returns riffle's stderr.
pub fn signal_stops(name: &str, signal_name: &str, code: i32, reason: &str) -> String {
    let tag = unique_tag();
    let (child, lines) = start_fixture(name, &tag);
    signal(child.id(), signal_name);
    let (exit, stderr) = finish(child, lines);
    assert_eq!(exit, Some(code), "{stderr}");
    assert!(stderr.contains(&format!("riffle: stopping: {reason}")), "{stderr}");
    assert!(processes_tagged(&tag).is_empty(), "{:?}", processes_tagged(&tag));
    stderr
}

/// Starts riffle as `command` says and returns once every processor runs, with riffle's output
/// lines (stderr and stdout, each in order) still arriving on the receiver.
pub fn start_running(command: &mut Command, tag: &str) -> (Child, mpsc::Receiver<String>) {
    start_running_and_seen(command, tag, &[])
}

/// Like [`start_running`], and returns only once each of `also` was printed too. Stdout and stderr are
/// read by two threads, so a line on one may come before an earlier line on the other: waiting for
/// both here, in any order, is the only safe way to wait for a line of each.
pub fn start_running_and_seen(command: &mut Command, tag: &str, also: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = command
        .env("RIFFLE_TEST_TAG", tag)
        .env("RIFFLE_DEBUG", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let (lines, receiver) = mpsc::channel();
    let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("piped"));
    let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("piped"));
    for stream in [stdout, stderr] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
    }
    let mut wanted: Vec<&str> = also.to_vec();
    wanted.push("riffle: every processor is initialised; starting");
    for _ in 0..wanted.len() {
        let seen = wait_for_any(&mut child, &receiver, &wanted);
        wanted.retain(|w| *w != seen);
    }
    (child, receiver)
}

pub fn wait_for_line(child: &mut Child, receiver: &mpsc::Receiver<String>, wanted: &str) {
    wait_for_any(child, receiver, &[wanted]);
}

/// Waits until riffle prints one of `wanted`; returns which.
fn wait_for_any(child: &mut Child, receiver: &mpsc::Receiver<String>, wanted: &[&str]) -> String {
    loop {
        match receiver.recv_timeout(SAFETY) {
            Ok(line) if wanted.contains(&line.as_str()) => return line,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("riffle never printed one of {wanted:?}: {e}");
            }
        }
    }
}

/// Waits for riffle to exit; returns its exit code and the rest of its stderr.
pub fn finish(mut child: Child, receiver: mpsc::Receiver<String>) -> (Option<i32>, String) {
    let (done, exited) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait().expect("riffle can be waited for");
        let _ = done.send(());
        status
    });
    exited.recv_timeout(SAFETY).expect("riffle exits");
    let status = waiter.join().expect("waiter");
    let rest: Vec<String> = receiver.iter().collect();
    (status.code(), rest.join("\n"))
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

pub fn runner_pid(tag: &str, runner: &str) -> u32 {
    let wanted = format!("RIFFLE_RUNNER_ID={runner}");
    for line in processes_tagged(tag) {
        let pid: u32 = line.split(':').next().unwrap().parse().unwrap();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            return pid;
        }
    }
    panic!("no process of runner {runner}");
}

/// What pipelines/python-mix prints: the Python processor's count, which comes when its reader has
/// ended wherever that falls among the log lines, and the three lines the Rust logger shouted, in order.
pub fn assert_python_mix_output(stdout: &str) {
    let (numbered, logged): (Vec<&str>, Vec<&str>) = stdout.lines().partition(|l| l.starts_with("[<number>]"));
    assert_eq!(numbered, ["[<number>] numbered 3 lines, 8 words"], "{stdout}");
    assert_eq!(
        logged,
        [
            "[<log>] shouted: 1. HELLO PYTHON",
            "[<log>] shouted: 2. FROM JAVASCRIPT",
            "[<log>] shouted: 3. TO JAVA AND RUST"
        ],
        "{stdout}"
    );
}
