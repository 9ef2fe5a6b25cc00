//! Processor output reaches the orchestrator as `log` messages, named with the processor's id.
//!
//! Two ways in:
//! - the `tracing` macros, re-exported as [`debug!`](crate::debug), [`info!`](crate::info),
//!   [`warn!`](crate::warn) and [`error!`](crate::error) (and any library's `tracing` events): the runtime
//!   installs a subscriber that turns every event into a `log` message. They never block; if the control
//!   connection falls behind by more than [`QUEUE`] messages, lines are dropped and the next line that gets
//!   through is preceded by a warning saying how many;
//! - [`log`], which waits for room instead, for processors whose output *is* the log (the built-in `Log`).
//!
//! The processor is known from a task-local that the runtime sets around `init` and `run`; a processor that
//! spawns tasks of its own wraps them in [`propagate`] to keep its name on their lines. Lines from outside
//! any processor are the runner's own (`processor: null`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use riffle_protocol::{Level, RunnerMessage};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Control messages queued for the orchestrator before log lines start being dropped (or [`log`] waits).
pub const QUEUE: usize = 1024;

tokio::task_local! {
    static PROCESSOR: Arc<str>;
}

/// The control connection's outgoing queue, once the runner has been welcomed.
static SINK: Mutex<Option<mpsc::Sender<RunnerMessage>>> = Mutex::new(None);
/// Lines dropped because the queue was full, not yet reported.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The id of the processor whose task this is, if any.
pub fn current_processor() -> Option<String> {
    PROCESSOR.try_with(|id| id.to_string()).ok()
}

/// Runs `future` as part of the current processor, so that its log lines carry the processor's id; for
/// tasks a processor spawns itself (`tokio::spawn(riffle_runner::logging::propagate(work))`).
pub fn propagate<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let id = PROCESSOR.try_with(Arc::clone).ok();
    async move {
        match id {
            Some(id) => PROCESSOR.scope(id, future).await,
            None => future.await,
        }
    }
}

/// Sends one log line to the orchestrator, waiting while the control connection is behind: unlike the
/// `tracing` macros it never drops a line. Outside a run the line goes to stderr.
pub async fn log(level: Level, message: impl Into<String>) {
    let message = RunnerMessage::Log { processor: current_processor(), level, message: message.into() };
    match sink() {
        Some(tx) => {
            if let Err(mpsc::error::SendError(message)) = tx.send(message).await {
                to_stderr(&message);
            }
        }
        None => to_stderr(&message),
    }
}

pub(crate) fn in_processor<F: Future>(id: Arc<str>, future: F) -> impl Future<Output = F::Output> {
    PROCESSOR.scope(id, future)
}

/// From now on log lines go to the orchestrator.
pub(crate) fn attach(tx: mpsc::Sender<RunnerMessage>) {
    *SINK.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
}

/// From now on log lines go to stderr (the connection is gone or closing).
pub(crate) fn detach() {
    SINK.lock().unwrap_or_else(|p| p.into_inner()).take();
}

fn sink() -> Option<mpsc::Sender<RunnerMessage>> {
    SINK.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn to_stderr(message: &RunnerMessage) {
    if let RunnerMessage::Log { processor, level, message } = message {
        let level = format!("{level:?}").to_lowercase();
        match processor {
            Some(processor) => eprintln!("{level} [{processor}] {message}"),
            None => eprintln!("{level} {message}"),
        }
    }
}

/// Queues a line without waiting; see the module documentation for what happens when the queue is full.
pub(crate) fn emit(processor: Option<String>, level: Level, message: String) {
    let line = RunnerMessage::Log { processor, level, message };
    let Some(tx) = sink() else {
        to_stderr(&line);
        return;
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let warning = RunnerMessage::Log {
            processor: None,
            level: Level::Warn,
            message: format!("{dropped} log lines were dropped: the control connection was behind"),
        };
        if tx.try_send(warning).is_err() {
            DROPPED.fetch_add(dropped + 1, Ordering::Relaxed);
            return;
        }
    }
    match tx.try_send(line) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        Err(mpsc::error::TrySendError::Closed(line)) => to_stderr(&line),
    }
}

/// Turns `tracing` events into `log` messages.
struct ControlLayer;

impl<S: tracing::Subscriber> Layer<S> for ControlLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            _ => Level::Debug,
        };
        emit(current_processor(), level, text.0);
    }
}

/// An event's message, followed by its other fields as `name=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, &format_args!("{value:?}"));
    }
}

impl Text {
    fn push(&mut self, field: &Field, value: &dyn std::fmt::Display) {
        use std::fmt::Write;
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value}", field.name());
        }
    }
}

/// Installs the subscriber that forwards `tracing` events, at the level `RIFFLE_LOG` names (`debug`,
/// `info`, `warn`, `error`; `info` by default). Does nothing if the program installed one already.
pub(crate) fn install() {
    let level = match std::env::var("RIFFLE_LOG").unwrap_or_default().to_ascii_lowercase().as_str() {
        "trace" | "debug" => tracing::level_filters::LevelFilter::DEBUG,
        "warn" => tracing::level_filters::LevelFilter::WARN,
        "error" => tracing::level_filters::LevelFilter::ERROR,
        _ => tracing::level_filters::LevelFilter::INFO,
    };
    let subscriber = tracing_subscriber::registry().with(ControlLayer.with_filter(level));
    // An error only means the embedding program chose its own subscriber, which is its right.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
