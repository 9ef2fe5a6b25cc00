//! The errors of the crate: what a processor returns ([`ProcessorError`]), what reading text can add to a
//! channel error ([`ReadError`]), and why the runner itself could not do its job ([`RunnerError`]).

use std::backtrace::{Backtrace, BacktraceStatus};
use std::fmt;

use riffle_channels::ChannelError;
use riffle_protocol::Phase;

/// The error a processor's `init` or `run` returns.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it with `?`, so a processor can propagate
/// channel, I/O or its own [`thiserror`](https://docs.rs/thiserror) errors unchanged; [`ProcessorError::msg`]
/// makes one from a plain message. The runtime reports it to the orchestrator as `failed`: its `Display` as
/// the message, its cause chain (and a backtrace when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` asks for
/// one) as the stack.
///
/// Like `anyhow::Error`, it deliberately does not implement `std::error::Error` itself: that is what lets it
/// convert from every error type without a conflicting `From<ProcessorError> for ProcessorError`.
pub struct ProcessorError {
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    phase: Option<Phase>,
    backtrace: Backtrace,
}

impl ProcessorError {
    /// An error with just a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        ProcessorError::from(Message(message.to_string()))
    }

    /// Reports the error in this phase instead of the one the runtime infers (`produce` for a processor
    /// without readers, `transform` otherwise; `init` during `init`).
    pub fn in_phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// The phase given with [`ProcessorError::in_phase`], if any.
    pub fn phase(&self) -> Option<Phase> {
        self.phase
    }

    /// The underlying error.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }

    /// The cause chain, one `caused by:` line per source, then the backtrace if one was captured; `None`
    /// when there is neither.
    pub fn stack(&self) -> Option<String> {
        let mut stack = String::new();
        let mut source = self.error.source();
        while let Some(cause) = source {
            if !stack.is_empty() {
                stack.push('\n');
            }
            stack.push_str("caused by: ");
            stack.push_str(&cause.to_string());
            source = cause.source();
        }
        if self.backtrace.status() == BacktraceStatus::Captured {
            if !stack.is_empty() {
                stack.push_str("\n\n");
            }
            stack.push_str(&self.backtrace.to_string());
        }
        (!stack.is_empty()).then_some(stack)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ProcessorError {
    fn from(error: E) -> Self {
        ProcessorError { error: Box::new(error), phase: None, backtrace: Backtrace::capture() }
    }
}

impl fmt::Display for ProcessorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl fmt::Debug for ProcessorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(stack) = self.stack() {
            write!(f, "\n{stack}")?;
        }
        Ok(())
    }
}

/// A plain message as an error, for [`ProcessorError::msg`].
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// What [`Reader::recv_text`](crate::Reader::recv_text) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The channel failed (a writer vanished, broke the protocol, ...).
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A bytes message that is not UTF-8 arrived where text was expected.
    #[error("channel {channel}: a bytes message of {len} bytes is not UTF-8 text")]
    NotText {
        /// Channel id.
        channel: String,
        /// Size of the message.
        len: usize,
    },
}

/// Why the runner could not take part in a run (as opposed to a processor failing, which is reported to the
/// orchestrator and is not an error of the runner).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// An encrypted run's certificate and key cannot be read.
    #[error(
        "RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE {0}; start it with the command riffle printed, which names the run's secret file"
    )]
    NoIdentity(String),
    /// A required environment variable is missing or empty.
    #[error("{0} is not set: this program is a Riffle runner, started by `riffle run` (see docs/protocol.md)")]
    MissingEnv(&'static str),
    /// An environment variable has a value that cannot be used.
    #[error("{name}={value:?} is not usable: {reason}")]
    BadEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The control connection could not be opened.
    #[error("cannot connect to the orchestrator at {url}: {source}")]
    Connect {
        /// The control URL.
        url: String,
        /// The WebSocket error.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The orchestrator refused the hello.
    #[error("the orchestrator refused this runner: {0}")]
    Refused(String),
    /// The orchestrator broke the control protocol.
    #[error("control protocol error: {0}")]
    Protocol(String),
    /// The control connection failed or closed before the run was over.
    #[error("the control connection to the orchestrator was lost: {0}")]
    ControlLost(String),
    /// Nothing, not even a heartbeat, came from the orchestrator for this long: it, its host or the
    /// link to it is gone.
    #[error("the orchestrator has been silent for {:.1} s (no heartbeat); exiting", .0.as_secs_f64())]
    OrchestratorSilent(std::time::Duration),
    /// The data endpoint could not be opened.
    #[error("cannot listen for channel writers on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
