//! Starting runner processes from their argv (never a shell) and making sure none outlives the run.

use super::event::{Event, Stream};
use riffle_protocol::env;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

/// A started runner process. Dropping it kills the process.
pub struct Launched {
    kill: Option<oneshot::Sender<()>>,
    /// Its process id, for the live state's memory and CPU figures.
    pub pid: Option<u32>,
}

impl Launched {
    /// Sends SIGKILL; the exit still arrives as [`Event::Exited`].
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
    }
}

pub struct LaunchSpec<'a> {
    pub runner: &'a str,
    pub argv: &'a [String],
    pub working_dir: &'a Path,
    pub control_url: &'a str,
    pub secret: &'a str,
    /// In an encrypted run: the file that holds the run's certificate and key after the secret.
    pub secret_file: Option<&'a Path>,
    pub data_listen: Option<&'a str>,
}

pub fn launch(spec: LaunchSpec<'_>, events: mpsc::UnboundedSender<Event>) -> std::io::Result<Launched> {
    let (program, args) = spec.argv.split_first().ok_or_else(|| std::io::Error::other("empty argv"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(spec.working_dir)
        .env(env::CONTROL_URL, spec.control_url)
        .env(env::SECRET, spec.secret)
        .env(env::RUNNER_ID, spec.runner)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group: a Ctrl-C at the terminal reaches only the orchestrator, which
        // then stops the runners in order instead of having them die mid-message.
        .process_group(0);
    if let Some(file) = spec.secret_file {
        command.env(env::SECRET_FILE, file);
    }
    if let Some(listen) = spec.data_listen {
        command.env(env::DATA_LISTEN, listen);
    }
    // SAFETY: the hook only makes async-signal-safe calls. PDEATHSIG fires when the forking *thread* exits;
    // this runs on a runtime thread that lives as long as the run.
    let parent = std::process::id() as libc::pid_t;
    unsafe {
        command.pre_exec(move || super::reaper::die_with_parent(parent));
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    let mut readers = Vec::new();
    for (stream, pipe) in [
        (Stream::Stdout, child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>)),
        (Stream::Stderr, child.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>)),
    ] {
        let Some(pipe) = pipe else { continue };
        let events = events.clone();
        let runner = spec.runner.to_string();
        readers.push(tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if events.send(Event::Output { runner: runner.clone(), stream, line }).is_err() {
                    break;
                }
            }
        }));
    }
    let (kill, killed) = oneshot::channel::<()>();
    let runner = spec.runner.to_string();
    tokio::spawn(async move {
        let status: std::io::Result<ExitStatus> = tokio::select! {
            status = child.wait() => status,
            _ = killed => {
                // The whole group: what the runner started goes with it.
                if let Some(pid) = pid {
                    super::reaper::kill_group(pid);
                }
                let _ = child.start_kill();
                child.wait().await
            }
        };
        // Its last lines come before its exit, so an error about the exit can quote them. A process it
        // left behind could hold the pipes open: wait for the end of its output only so long.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), futures_util::future::join_all(readers)).await;
        let _ = events.send(Event::Exited { runner, status: status.ok() });
    });
    Ok(Launched { kill: Some(kill), pid })
}
