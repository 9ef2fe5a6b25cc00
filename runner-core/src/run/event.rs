//! Everything the orchestrator reacts to arrives as one of these, on one queue.

use riffle_protocol::{OrchestratorMessage, RunnerMessage};
use std::process::ExitStatus;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    /// SIGHUP: the terminal was closed. Stops the run in order, like SIGTERM.
    HangUp,
}

impl Signal {
    /// The exit code of a process that stopped because of this signal (128 + its number).
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
            Signal::HangUp => 129,
        }
    }
}

#[derive(Debug)]
pub enum Event {
    /// A runner said a valid hello; `to_runner` sends it messages.
    Connected {
        runner: String,
        to_runner: mpsc::UnboundedSender<OrchestratorMessage>,
        route: super::control::Route,
    },
    Message {
        runner: String,
        message: RunnerMessage,
    },
    /// Its control connection closed (or broke), or went silent past the heartbeat deadline.
    Disconnected {
        runner: String,
        reason: String,
        /// Gone silent: nothing will come from it, not even an answer to `stop`.
        silent: bool,
    },
    /// Its process exited; None when waiting for it failed.
    Exited {
        runner: String,
        status: Option<ExitStatus>,
    },
    /// A line it printed outside the protocol.
    Output {
        runner: String,
        stream: Stream,
        line: String,
    },
    Signal(Signal),
    /// Someone connected to the control endpoint and was refused.
    Refused {
        reason: String,
    },
}
