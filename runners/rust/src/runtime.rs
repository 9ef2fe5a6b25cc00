//! The runner side of the control protocol (`docs/protocol.md`): hello, assign, connect, init, start, stop.
//!
//! One session loop owns the state and reacts to three sources: the orchestrator's messages, the results
//! of the slow steps it hands to tasks (connecting writers, initialising processors), and a 250 ms stats
//! timer. Nothing slow runs on the loop itself, so a `stop`, a lost connection or a signal is seen at once,
//! whatever the processors are doing.

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use riffle_protocol::{env, EndStats, OrchestratorMessage, Phase, ProcessorAssignment, RunnerMessage, VERSION};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::control::{self, Incoming};
use crate::processor::DynProcessor;
use crate::stats::StatsBoard;
use crate::wiring::{self, Connected, WireFailure, Wiring};
use crate::writer::WriterBin;
use crate::{address, construct, logging, panic, Registry, RunnerError};

/// How often stats are sent at most while counters change.
const STATS_EVERY: Duration = Duration::from_millis(250);
/// A safety net, not a synchronisation: how long the orchestrator may take to answer the hello.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(30);
/// A safety net: how long flushing the last messages (`stats`, `bye`) may take before exiting anyway.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a runner needs to join a run, normally from the environment `riffle run` sets.
#[derive(Clone, Debug)]
pub struct Config {
    /// `ws://HOST:PORT` of the orchestrator (`RIFFLE_CONTROL_URL`).
    pub control_url: String,
    /// The run's secret (`RIFFLE_SECRET`, else the first line of the file `RIFFLE_SECRET_FILE` names).
    pub secret: String,
    /// Which runner instance of the plan this is (`RIFFLE_RUNNER_ID`).
    pub runner_id: String,
    /// Where the data endpoint listens, `HOST:PORT` (`RIFFLE_DATA_LISTEN`); None: the address this runner
    /// reached the orchestrator from, port 0, so that a runner on another host is reachable where it
    /// dialled from and one on the orchestrator's host stays on loopback.
    pub data_listen: Option<String>,
    /// What the data endpoint is announced as, `HOST` or `HOST:PORT` (`RIFFLE_DATA_ADVERTISE`); None: the
    /// bound address, or for a wildcard bind the address this runner reached the orchestrator from.
    pub data_advertise: Option<String>,
    /// In an encrypted run (a `wss://` control URL): the run's certificate and key, from the file
    /// `RIFFLE_SECRET_FILE` names.
    pub tls: Option<riffle_channels::RunTls>,
}

impl Config {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Config, RunnerError> {
        let required = |name: &'static str| match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => Err(RunnerError::MissingEnv(name)),
        };
        let optional = |name: &'static str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let control_url = required(env::CONTROL_URL)?;
        let tls = if control_url.starts_with("wss://") { Some(identity()?) } else { None };
        Ok(Config {
            control_url,
            tls,
            secret: match required(env::SECRET) {
                Ok(secret) => secret,
                Err(missing) => match std::env::var(env::SECRET_FILE) {
                    Ok(path) if !path.is_empty() => secret_from_file(&path)?,
                    _ => return Err(missing),
                },
            },
            runner_id: required(env::RUNNER_ID)?,
            data_listen: optional(env::DATA_LISTEN),
            data_advertise: optional(env::DATA_ADVERTISE),
        })
    }
}

/// The run's certificate and key, after the secret in the file `RIFFLE_SECRET_FILE` names.
fn identity() -> Result<riffle_channels::RunTls, RunnerError> {
    let path = std::env::var(env::SECRET_FILE).ok().filter(|p| !p.is_empty());
    let Some(path) = path else { return Err(RunnerError::NoIdentity("is not set".into())) };
    let text = std::fs::read(&path).map_err(|e| RunnerError::NoIdentity(format!("({path}) cannot be read: {e}")))?;
    riffle_channels::RunTls::from_pem(&text).map_err(|e| RunnerError::NoIdentity(format!("({path}) {e}")))
}

/// The first line of the file `RIFFLE_SECRET_FILE` names.
fn secret_from_file(path: &str) -> Result<String, RunnerError> {
    let bad = |reason: String| RunnerError::BadEnv { name: env::SECRET_FILE, value: path.to_owned(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    match text.lines().next().map(str::trim) {
        Some(secret) if !secret.is_empty() => Ok(secret.to_owned()),
        _ => Err(bad("the file is empty; it should hold the run's secret on its first line".to_owned())),
    }
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The orchestrator said `stop`; the runner said `bye`.
    Stopped,
    /// The control connection closed without a `stop`: the orchestrator crashed or was killed.
    OrchestratorGone,
    /// The runner got SIGTERM or SIGINT (this signal number) and stopped on its own.
    Signalled(i32),
}

impl Outcome {
    /// The process exit code: 0 after `stop`, 1 if the orchestrator vanished, 128 + n after signal n.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Stopped => 0,
            Outcome::OrchestratorGone => 1,
            Outcome::Signalled(signal) => 128 + signal,
        }
    }
}

/// The whole `main` of a runner binary: reads the environment, joins the run, and exits the process with
/// the session's exit code.
///
/// ```no_run
/// // The body of `fn main` in the bundled runner:
/// riffle_runner::run(riffle_runner::Registry::builtin())
/// ```
pub fn run(registry: Registry) -> ! {
    let name = program_name();
    // Every network channel end is a socket; riffle raised its own limit already, a runner started by hand
    // may not have.
    riffle_channels::raise_open_file_limit();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        match serve(registry, config).await {
            Ok(Outcome::OrchestratorGone) => {
                eprintln!("{name}: the orchestrator went away (the control connection closed before stop); exiting");
                Outcome::OrchestratorGone.exit_code()
            }
            Ok(outcome) => outcome.exit_code(),
            Err(e) => {
                eprintln!("{name}: {e}");
                1
            }
        }
    });
    // A processor blocked in a system call must not keep the process alive once the session is over.
    runtime.shutdown_background();
    std::process::exit(code)
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "riffle-runner".to_owned())
}

/// Runs one session with the orchestrator in the current tokio runtime; [`run`] wraps it for a `main`.
///
/// Installs the panic hook and, unless the program has its own, the `tracing` subscriber that forwards log
/// lines to the orchestrator.
pub async fn serve(registry: Registry, config: Config) -> Result<Outcome, RunnerError> {
    logging::install();
    panic::install_hook();
    let (mut incoming, outgoing, control_ip) = control::connect(&config.control_url, config.tls.as_ref()).await?;
    let out = outgoing.tx.clone();
    let hello = RunnerMessage::Hello {
        protocol: VERSION,
        secret: config.secret.clone(),
        runner: config.runner_id.clone(),
        language: "rust".into(),
        pid: std::process::id(),
    };
    out.send(hello).await.map_err(|_| RunnerError::ControlLost("the connection closed during hello".into()))?;
    let limits;
    match tokio::time::timeout(WELCOME_TIMEOUT, incoming.next()).await {
        Err(_) => return Err(RunnerError::Protocol(format!("no welcome within {WELCOME_TIMEOUT:?}"))),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(None)) => {
            return Err(RunnerError::ControlLost("the orchestrator closed the connection before welcome".into()))
        }
        Ok(Ok(Some(OrchestratorMessage::Refused { reason }))) => return Err(RunnerError::Refused(reason)),
        Ok(Ok(Some(OrchestratorMessage::Welcome { protocol, .. }))) if protocol != VERSION => {
            return Err(RunnerError::Protocol(format!(
                "the orchestrator speaks protocol {protocol}, this runner {VERSION}"
            )))
        }
        // Its heartbeat deadline, if any, is kept for the control connection by the reader of `incoming`,
        // which saw it first; data connections fail when their peer is silent as long.
        Ok(Ok(Some(OrchestratorMessage::Welcome { heartbeat_ms, .. }))) => {
            limits = wiring::limits(heartbeat_ms.map(std::time::Duration::from_millis));
        }
        Ok(Ok(Some(other))) => return Err(RunnerError::Protocol(format!("expected welcome, got {}", kind(&other)))),
    }
    logging::attach(out.clone());
    let (events_tx, events) = mpsc::channel(4);
    let links = wiring::Links { secret: config.secret.as_str().into(), tls: config.tls.clone(), limits };
    let mut session = Session {
        registry,
        config,
        links,
        control_ip,
        out,
        events_tx,
        stats: StatsBoard::default(),
        wiring: None,
        assigned: Vec::new(),
        ready: Vec::new(),
        tasks: Vec::new(),
        last_stats: Vec::new(),
    };
    let result = session.run(&mut incoming, events).await;
    session.shut_down();
    let said_bye = matches!(result, Ok(Outcome::Stopped | Outcome::Signalled(_)));
    if said_bye {
        let _ = session.out.send(RunnerMessage::Stats { ends: session.stats.snapshot() }).await;
        let _ = session.out.send(RunnerMessage::Bye).await;
    }
    logging::detach();
    drop(session);
    if said_bye {
        // The drain task ends after writing `bye`; waiting for it is what gets `bye` on the wire.
        let _ = tokio::time::timeout(FLUSH_TIMEOUT, outgoing.task).await;
    } else {
        outgoing.task.abort();
    }
    result
}

/// A processor built and initialised, waiting for `start`.
struct Ready {
    id: Arc<str>,
    processor: Box<dyn DynProcessor>,
    bin: Arc<WriterBin>,
    /// The phase a `run` failure is reported in, unless the error names one.
    phase: Phase,
}

/// Results of the steps that run off the session loop.
enum Event {
    Wired(Result<Vec<Connected>, WireFailure>),
    Initialised(Result<Vec<Ready>, Box<RunnerMessage>>),
}

struct Session {
    registry: Registry,
    config: Config,
    /// This side's address of the control connection.
    control_ip: IpAddr,
    /// What every data connection of this run is made with.
    links: wiring::Links,
    out: mpsc::Sender<RunnerMessage>,
    events_tx: mpsc::Sender<Event>,
    stats: StatsBoard,
    wiring: Option<Wiring>,
    assigned: Vec<ProcessorAssignment>,
    ready: Vec<Ready>,
    /// Everything spawned that must not outlive the session: the connect and init steps, the processors.
    tasks: Vec<JoinHandle<()>>,
    last_stats: Vec<EndStats>,
}

impl Session {
    async fn run(
        &mut self,
        incoming: &mut Incoming,
        mut events: mpsc::Receiver<Event>,
    ) -> Result<Outcome, RunnerError> {
        let mut stats_timer = tokio::time::interval(STATS_EVERY);
        stats_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let signals = shutdown_signal();
        tokio::pin!(signals);
        loop {
            tokio::select! {
                message = incoming.next() => match message {
                    Ok(Some(OrchestratorMessage::Stop { reason })) => {
                        tracing::debug!("stopping: {reason}");
                        return Ok(Outcome::Stopped);
                    }
                    Ok(Some(message)) => self.on_message(message).await?,
                    Ok(None) => return Ok(Outcome::OrchestratorGone),
                    Err(RunnerError::ControlLost(_)) => return Ok(Outcome::OrchestratorGone),
                    Err(e) => return Err(e),
                },
                Some(event) = events.recv() => self.on_event(event).await,
                _ = stats_timer.tick() => self.send_stats_if_changed(),
                signal = &mut signals => {
                    tracing::warn!("got signal {signal}; stopping");
                    return Ok(Outcome::Signalled(signal));
                }
            }
        }
    }

    async fn on_message(&mut self, message: OrchestratorMessage) -> Result<(), RunnerError> {
        match message {
            OrchestratorMessage::Assign { processors, channels } => {
                if self.wiring.is_some() {
                    return Err(RunnerError::Protocol("a second assign".into()));
                }
                let listen = address::listen(self.config.data_listen.as_deref(), self.control_ip).await?;
                let wiring = Wiring::listen(
                    &self.config.runner_id,
                    &self.links,
                    listen,
                    &processors,
                    channels,
                    self.stats.clone(),
                )
                .await?;
                let endpoint =
                    address::announced(wiring.endpoint(), self.config.data_advertise.as_deref(), self.control_ip);
                self.wiring = Some(wiring);
                self.assigned = processors;
                send(&self.out, RunnerMessage::Listening { endpoint }).await;
            }
            OrchestratorMessage::Connect { endpoints } => {
                let Some(wiring) = &self.wiring else {
                    return Err(RunnerError::Protocol("connect before assign".into()));
                };
                let events = self.events_tx.clone();
                let links = self.links.clone();
                let result = wiring.writer_jobs(&endpoints);
                self.tasks.push(tokio::spawn(async move {
                    let result = match result {
                        Ok(jobs) => wiring::connect_all(jobs, links).await,
                        Err(failure) => Err(failure),
                    };
                    let _ = events.send(Event::Wired(result)).await;
                }));
            }
            OrchestratorMessage::Init => self.init().await,
            OrchestratorMessage::Start => self.start(),
            OrchestratorMessage::Welcome { .. } | OrchestratorMessage::Refused { .. } => {
                return Err(RunnerError::Protocol(format!("{} after welcome", kind(&message))));
            }
            // Handled by the session loop.
            OrchestratorMessage::Stop { .. } => {}
        }
        Ok(())
    }

    async fn on_event(&mut self, event: Event) {
        match event {
            Event::Wired(Ok(connected)) => {
                if let Some(wiring) = &mut self.wiring {
                    wiring.install(connected);
                }
                send(&self.out, RunnerMessage::Wired).await;
            }
            // A writer that cannot reach its reader makes the run impossible: the processor owning it fails
            // before anything starts, which is what `init` failures are for.
            Event::Wired(Err(WireFailure { processor, message })) => {
                send(&self.out, RunnerMessage::Failed { processor, phase: Phase::Init, message, stack: None }).await;
            }
            Event::Initialised(Ok(ready)) => {
                self.ready = ready;
                send(&self.out, RunnerMessage::Initialised).await;
            }
            Event::Initialised(Err(failed)) => send(&self.out, *failed).await,
        }
    }

    /// Builds every processor (on the session loop: deserialising is quick and needs this thread's
    /// construction scope), then initialises them one after the other in a task.
    async fn init(&mut self) {
        let mut built = Vec::with_capacity(self.assigned.len());
        for assignment in std::mem::take(&mut self.assigned) {
            match self.build(&assignment) {
                Ok(ready) => built.push(ready),
                Err(message) => {
                    let failed =
                        RunnerMessage::Failed { processor: assignment.id, phase: Phase::Init, message, stack: None };
                    send(&self.out, failed).await;
                    return;
                }
            }
        }
        let events = self.events_tx.clone();
        self.tasks.push(tokio::spawn(async move {
            let result = initialise(built).await;
            let _ = events.send(Event::Initialised(result)).await;
        }));
    }

    fn build(&mut self, assignment: &ProcessorAssignment) -> Result<Ready, String> {
        let id = &assignment.id;
        let Some(class) = assignment.implementation.get("class").and_then(Value::as_str) else {
            return Err(format!(
                "processor {id} has no implementation class (rdfc:class on {}), so the Rust runner cannot tell \
                 which processor to build",
                assignment.class
            ));
        };
        if !self.registry.contains(class) {
            let provided: Vec<&str> = self.registry.classes().collect();
            return Err(format!(
                "processor {id} needs class \"{class}\", which this runner does not provide (it provides: {})",
                provided.join(", ")
            ));
        }
        let (ends, bin) = match &mut self.wiring {
            Some(wiring) => wiring.take(id),
            None => (construct::Ends::new(id), Arc::default()),
        };
        let phase = if ends.has_readers() { Phase::Transform } else { Phase::Produce };
        let registry = &self.registry;
        let arguments = assignment.arguments.clone();
        let (built, ends) = construct::with_ends(ends, || {
            std::panic::catch_unwind(AssertUnwindSafe(|| registry.construct(class, arguments)))
        });
        let (readers, writers) = ends.into_unclaimed();
        for reader in readers {
            tracing::warn!("processor {id} ({class}) does not take its reader of channel {}", reader.channel());
        }
        for writer in writers {
            // Dropping it leaves it in the processor's bin: it is closed when the processor ends, so that its
            // readers are not left waiting for it.
            tracing::warn!("processor {id} ({class}) does not take its writer of channel {}", writer.channel());
        }
        match built {
            Ok(Some(Ok(processor))) => Ok(Ready { id: id.as_str().into(), processor, bin, phase }),
            Ok(Some(Err(e))) => Err(format!("processor {id} ({class}): invalid arguments: {e}")),
            Ok(None) => Err(format!("processor {id} needs class \"{class}\", which this runner does not provide")),
            Err(payload) => Err(format!(
                "processor {id} ({class}): building it from its arguments {}",
                panic::caught(payload).message
            )),
        }
    }

    fn start(&mut self) {
        for ready in std::mem::take(&mut self.ready) {
            self.tasks.push(tokio::spawn(run_processor(ready, self.out.clone())));
        }
    }

    fn send_stats_if_changed(&mut self) {
        let snapshot = self.stats.snapshot();
        if snapshot == self.last_stats {
            return;
        }
        // Stats are advisory: when the queue is full they wait for the next tick rather than hold up the loop.
        if self.out.try_send(RunnerMessage::Stats { ends: snapshot.clone() }).is_ok() {
            self.last_stats = snapshot;
        }
    }

    /// Cancels everything still running. Dropping the processors drops their writers unclosed: readers in
    /// other runners see them vanish rather than a clean end, which is right for a run being stopped.
    fn shut_down(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.ready.clear();
        self.wiring = None;
    }
}

/// Queues a message for the orchestrator. A free function rather than a method so that the future borrows
/// only the queue (which is `Sync`), not the whole session (which holds processors that are only `Send`).
async fn send(out: &mpsc::Sender<RunnerMessage>, message: RunnerMessage) {
    // Fails only once the connection is gone, which the session loop sees on its own.
    let _ = out.send(message).await;
}

/// Runs every processor's `init` in turn; the first failure is the `failed` message to send.
async fn initialise(mut built: Vec<Ready>) -> Result<Vec<Ready>, Box<RunnerMessage>> {
    for ready in &mut built {
        let processor = &mut ready.processor;
        let init = AssertUnwindSafe(logging::in_processor(ready.id.clone(), async { processor.init().await }));
        let (message, stack) = match init.catch_unwind().await {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => (error.to_string(), error.stack()),
            Err(payload) => {
                let report = panic::caught(payload);
                (report.message, report.stack)
            }
        };
        return Err(Box::new(RunnerMessage::Failed {
            processor: ready.id.to_string(),
            phase: Phase::Init,
            message,
            stack,
        }));
    }
    Ok(built)
}

/// Runs one processor to its end and says how it ended.
async fn run_processor(ready: Ready, out: mpsc::Sender<RunnerMessage>) {
    let Ready { id, processor, bin, phase } = ready;
    let run = AssertUnwindSafe(logging::in_processor(id.clone(), async move { processor.run().await }));
    let failed = |phase: Phase, message: String, stack: Option<String>| RunnerMessage::Failed {
        processor: id.to_string(),
        phase,
        message,
        stack,
    };
    let message = match run.catch_unwind().await {
        Ok(Ok(())) => match close_all(bin.take()).await {
            Ok(()) => RunnerMessage::Finished { processor: id.to_string() },
            Err(e) => failed(phase, format!("closing its writers failed: {e}"), None),
        },
        // A failed processor's writers stay in its bin, open, until the runner stops (the failure stops the
        // run). Dropping them now would let a reader elsewhere report "writer vanished" to the orchestrator
        // before this `failed` arrives, and the run would be blamed on the wrong processor.
        Ok(Err(error)) => failed(error.phase().unwrap_or(phase), error.to_string(), error.stack()),
        Err(payload) => {
            let report = panic::caught(payload);
            failed(phase, report.message, report.stack)
        }
    };
    let _ = out.send(message).await;
}

/// Closes writers a processor left open; every one is closed even if one fails, and the first error wins.
async fn close_all(writers: Vec<riffle_channels::Writer>) -> Result<(), riffle_channels::ChannelError> {
    let mut first = Ok(());
    for writer in writers {
        let result = writer.close().await;
        if first.is_ok() {
            first = result;
        }
    }
    first
}

fn kind(message: &OrchestratorMessage) -> &'static str {
    match message {
        OrchestratorMessage::Welcome { .. } => "welcome",
        OrchestratorMessage::Refused { .. } => "refused",
        OrchestratorMessage::Assign { .. } => "assign",
        OrchestratorMessage::Connect { .. } => "connect",
        OrchestratorMessage::Init => "init",
        OrchestratorMessage::Start => "start",
        OrchestratorMessage::Stop { .. } => "stop",
    }
}

/// Resolves with the signal number on SIGTERM or SIGINT. `riffle run` starts runners in their own process
/// group, so these come from someone stopping this runner on purpose, not from a Ctrl-C meant for the
/// orchestrator.
async fn shutdown_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            },
            // Without signal handling the default actions apply, which also end the process.
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => 2,
            Err(_) => std::future::pending().await,
        }
    }
}
