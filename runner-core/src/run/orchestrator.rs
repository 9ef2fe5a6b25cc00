//! The run itself: start every runner, walk them through assign, connect, init and start together,
//! watch for failures and crashes, and stop everything in order, leaving no process behind.

use super::control::{self, ControlServer, Route};
use super::event::{Event, Signal, Stream};
use super::external;
use super::launch::{launch, LaunchSpec, Launched};
use super::report::Reporter;
use crate::live::Live;
use crate::plan::{self, Plan};
use riffle_protocol::{
    ChannelAssignment, ChannelEnd, EndStats, Level, OrchestratorMessage, Phase, ProcessorAssignment, RunnerMessage,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub struct RunOptions {
    /// Where the control endpoint listens; loopback by default.
    pub listen: SocketAddr,
    /// How long runners have to connect and say hello.
    pub connect_timeout: Duration,
    /// How long runners have to exit after `stop` before they are killed.
    pub stop_grace: Duration,
    /// Runner instances someone else starts (by hand, maybe on another host): Riffle prints how to
    /// start them and waits for them to connect.
    pub external: Vec<String>,
    /// Where to keep the live state up to date (`riffle run --sparql`).
    pub live: Option<crate::live::Live>,
    /// A runner whose control connection carries nothing for this long (no answer to the pings sent
    /// several times within it) fails the run, and a runner that hears nothing from the orchestrator
    /// for this long exits; None waits as long as the connections stay open.
    pub heartbeat: Option<Duration>,
    /// The host name or address other hosts reach this one by (`--advertise`), for the command printed
    /// for external runners; None: the listen address, or this host's name when that is a wildcard.
    pub advertise: Option<String>,
    /// The run's secret from a file (`--secret-file`); None: a new one, written for external runners to
    /// a private file removed at the end.
    pub secret: Option<super::secret::Given>,
    /// Encrypt a run that listens on loopback too (`--tls`); a run listening beyond loopback always is.
    pub tls: bool,
}

impl RunOptions {
    /// Whether every control and data connection of the run is TLS.
    pub fn encrypted(&self) -> bool {
        self.tls || !self.listen.ip().is_loopback()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            connect_timeout: Duration::from_secs(30),
            stop_grace: Duration::from_secs(2),
            external: Vec::new(),
            live: None,
            heartbeat: Some(Duration::from_secs(3)),
            advertise: None,
            secret: None,
            tls: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every processor finished.
    Finished,
    /// Something failed; the text names what and why.
    Failed(String),
    Interrupted(Signal),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Finished => 0,
            Outcome::Failed(_) => 1,
            Outcome::Interrupted(signal) => signal.exit_code(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorState {
    Waiting,
    Initialising,
    Running,
    Finished,
    Failed,
    Stopped,
}

impl ProcessorState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessorState::Waiting => "not started",
            ProcessorState::Initialising => "initialising",
            ProcessorState::Running => "running",
            ProcessorState::Finished => "finished",
            ProcessorState::Failed => "failed",
            ProcessorState::Stopped => "stopped",
        }
    }
}

pub struct ProcessorRun {
    pub id: String,
    pub runner: String,
    pub state: ProcessorState,
    pub started: Option<Instant>,
    pub ended: Option<Instant>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where it failed, as its runner reported it.
    pub stack: Option<String>,
}

pub struct RunReport {
    pub outcome: Outcome,
    pub processors: Vec<ProcessorRun>,
    /// Counters of every channel end, by (channel, processor, role).
    pub ends: BTreeMap<(String, String, String), EndStats>,
    pub elapsed: Duration,
}

/// Lines of a runner's output and logs kept to show when it dies.
const LAST_LINES: usize = 20;

struct RunnerState {
    id: String,
    argv: Vec<String>,
    to_runner: Option<mpsc::UnboundedSender<OrchestratorMessage>>,
    launched: Option<Launched>,
    endpoint: Option<String>,
    wired: bool,
    initialised: bool,
    said_bye: bool,
    exited: bool,
    /// Its control connection closed: every message it sent has been handled.
    disconnected: bool,
    /// Went silent past the heartbeat deadline: stopped, hung or cut off, so it is killed, not asked.
    silent: bool,
    /// Its control connection's two ends, once it has said hello.
    route: Option<Route>,
    last_lines: VecDeque<String>,
}

impl RunnerState {
    /// `launched` is None for a runner someone else starts.
    fn new(id: String, argv: Vec<String>, launched: Option<Launched>) -> RunnerState {
        RunnerState {
            id,
            argv,
            to_runner: None,
            launched,
            endpoint: None,
            wired: false,
            initialised: false,
            said_bye: false,
            exited: false,
            disconnected: false,
            silent: false,
            route: None,
            last_lines: VecDeque::new(),
        }
    }

    fn send(&self, message: OrchestratorMessage) {
        if let Some(to_runner) = &self.to_runner {
            let _ = to_runner.send(message);
        }
    }

    /// Nothing more will come from it: its process (if we started it) has exited, and its control
    /// connection (if it had one) has closed, which comes after its last message. The exit alone is
    /// not enough: it can overtake the final `stats` and `bye` on their way.
    fn gone(&self) -> bool {
        (self.launched.is_none() || self.exited) && (self.to_runner.is_none() || self.disconnected)
    }

    fn remember(&mut self, line: String) {
        if self.last_lines.len() == LAST_LINES {
            self.last_lines.pop_front();
        }
        self.last_lines.push_back(line);
    }

    fn recent_output(&self) -> String {
        if self.last_lines.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = self.last_lines.iter().map(String::as_str).collect();
        format!("\n  its last output:\n    {}", lines.join("\n    "))
    }
}

/// The messages a runner gets in `assign`: its processors, and every channel that touches them.
pub fn assignment(plan: &Plan, runner: &str) -> OrchestratorMessage {
    let runner_of: HashMap<&str, &str> = plan.processors.iter().map(|p| (p.id.as_str(), p.runner.as_str())).collect();
    let processors = plan
        .processors
        .iter()
        .filter(|p| p.runner == runner)
        .map(|p| ProcessorAssignment {
            id: p.id.clone(),
            class: p.class.clone(),
            implementation: p.implementation.clone(),
            arguments: p.arguments.clone(),
        })
        .collect();
    let ends = |ends: &[plan::End]| -> Vec<ChannelEnd> {
        ends.iter()
            .map(|e| ChannelEnd {
                processor: e.processor.clone(),
                argument: e.argument.clone(),
                runner: runner_of.get(e.processor.as_str()).copied().unwrap_or_default().to_string(),
            })
            .collect()
    };
    let channels = plan
        .channels
        .iter()
        .filter(|c| c.writers.iter().chain(&c.readers).any(|e| runner_of.get(e.processor.as_str()) == Some(&runner)))
        .map(|c| ChannelAssignment {
            id: c.id.clone(),
            transport: c.transport,
            writers: ends(&c.writers),
            readers: ends(&c.readers),
            options: c.options.clone(),
            log_level: c.log_level.clone(),
        })
        .collect();
    OrchestratorMessage::Assign { processors, channels }
}

pub async fn run(plan: &Plan, options: &RunOptions, reporter: &mut Reporter) -> RunReport {
    let started = Instant::now();
    let mut processors: Vec<ProcessorRun> = plan
        .processors
        .iter()
        .map(|p| ProcessorRun {
            id: p.id.clone(),
            runner: p.runner.clone(),
            state: ProcessorState::Waiting,
            started: None,
            ended: None,
            error: None,
            stack: None,
        })
        .collect();
    let mut ends = BTreeMap::new();
    super::reaper::become_subreaper();
    let outcome = drive(plan, options, reporter, &mut processors, &mut ends).await;
    // Every runner has exited: whatever is left below riffle (a processor's children, one that left its
    // process group) belongs to this run and goes now.
    let stragglers = super::reaper::sweep(Duration::from_secs(5));
    if stragglers > 0 {
        reporter.debug(&format!("killed {stragglers} process(es) the runners left behind"));
    }
    for processor in &mut processors {
        match processor.state {
            ProcessorState::Running => {
                processor.state = ProcessorState::Stopped;
                processor.ended = Some(Instant::now());
            }
            // Initialised, or initialising, but never started.
            ProcessorState::Initialising => processor.state = ProcessorState::Waiting,
            _ => {}
        }
    }
    if let Some(live) = &options.live {
        live.update(&processors, &ends);
        let (how, error) = match &outcome {
            Outcome::Finished => ("finished", None),
            Outcome::Failed(why) => ("failed", Some(why.clone())),
            Outcome::Interrupted(_) => ("interrupted", None),
        };
        live.ended(how, error);
    }
    RunReport { outcome, processors, ends, elapsed: started.elapsed() }
}

async fn drive(
    plan: &Plan,
    options: &RunOptions,
    reporter: &mut Reporter,
    processors: &mut [ProcessorRun],
    ends: &mut BTreeMap<(String, String, String), EndStats>,
) -> Outcome {
    if let Err(why) = super::descriptors::check(plan) {
        return Outcome::Failed(why);
    }
    let (events, mut queue) = mpsc::unbounded_channel::<Event>();
    let secret = match (&options.secret, super::secret::generate()) {
        (Some(given), _) => given.secret.clone(),
        (None, Ok(secret)) => secret,
        (None, Err(e)) => return Outcome::Failed(format!("cannot make the run's secret: {e}")),
    };
    let identity = match run_identity(options) {
        Ok(identity) => identity,
        Err(why) => return Outcome::Failed(why),
    };
    let listener = match control::bind(options.listen).await {
        Ok(listener) => listener,
        Err(e) => return Outcome::Failed(format!("cannot listen for runners on {}: {e}", options.listen)),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(e) => return Outcome::Failed(format!("cannot read the control endpoint's address: {e}")),
    };
    // Runners started here reach a wildcard listener on loopback.
    let dial = if address.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], address.port())) } else { address };
    let scheme = if identity.is_some() { "wss" } else { "ws" };
    let control_url = format!("{scheme}://{dial}");
    let external_url = external::control_url(scheme, address, options.advertise.as_deref());
    let data_listen = (!options.listen.ip().is_loopback()).then(|| format!("{}:0", options.listen.ip()));
    let run_id = match super::secret::run_id() {
        Ok(id) => id,
        Err(e) => return Outcome::Failed(format!("cannot make the run's id: {e}")),
    };
    // Runners started by hand read the secret from a private file: what is printed never holds it. In an
    // encrypted run every runner reads the certificate and key from it.
    let secret_file = if (options.external.is_empty() && identity.is_none()) || options.secret.is_some() {
        None
    } else {
        let pem = identity.as_ref().map(|(pem, _)| pem.as_str());
        match super::secret::SecretFile::write(&secret, pem, &run_id) {
            Ok(file) => Some(file),
            Err(e) => return Outcome::Failed(format!("cannot write the run's secret file: {e}")),
        }
    };
    let hint_secret = match (&options.secret, &secret_file) {
        (Some(given), _) => Some(external::Secret::Given(&given.path)),
        (None, Some(written)) => Some(external::Secret::Written(written.path())),
        (None, None) => None,
    };
    let secret_path = hint_secret.map(|(external::Secret::Given(path) | external::Secret::Written(path))| path);
    ControlServer {
        secret: secret.clone(),
        run: run_id.clone(),
        expected: plan.runners.iter().map(|r| r.id.clone()).collect(),
        heartbeat: options.heartbeat,
        tls: identity.map(|(_, tls)| tls),
    }
    .serve(listener, events.clone());
    watch_signals(events.clone());
    reporter.status(&format!("control endpoint {control_url}; starting {} runner(s)", plan.runners.len()));

    let working_dir = Path::new(&plan.working_dir);
    let mut runners: Vec<RunnerState> = Vec::new();
    for instance in &plan.runners {
        if options.external.contains(&instance.id) {
            for line in hint_secret.iter().flat_map(|s| external::hint(&instance.id, &instance.argv, &external_url, *s))
            {
                reporter.warn(&line);
            }
            runners.push(RunnerState::new(instance.id.clone(), instance.argv.clone(), None));
            continue;
        }
        // Start what resolution found (on PATH, next to riffle, or relative to the pipeline), not
        // argv[0] by name, which may only be found in one of those places.
        let mut argv = instance.argv.clone();
        if let (Some(first), Some(program)) = (argv.first_mut(), &instance.program) {
            *first = program.clone();
        }
        let spec = LaunchSpec {
            runner: &instance.id,
            argv: &argv,
            working_dir,
            control_url: &control_url,
            secret: &secret,
            secret_file: secret_path.filter(|_| scheme == "wss"),
            data_listen: data_listen.as_deref(),
        };
        let launched = match launch(spec, events.clone()) {
            Ok(launched) => launched,
            Err(e) => {
                let outcome =
                    Outcome::Failed(format!("cannot start runner {} ({}): {e}", instance.id, instance.argv.join(" ")));
                let stopping = Stopping { queue: &mut queue, options, reporter, processors, ends };
                return stop_all(runners, outcome, stopping).await;
            }
        };
        if let Some(live) = &options.live {
            live.runner(&instance.id, launched.pid);
        }
        runners.push(RunnerState::new(instance.id.clone(), instance.argv.clone(), Some(launched)));
    }

    let connect_deadline = tokio::time::Instant::now() + options.connect_timeout;
    // A failure that only says a peer vanished waits a moment for the failure that explains it.
    let mut consequence: Option<(Outcome, tokio::time::Instant)> = None;
    let outcome = loop {
        let waiting_for_hello = runners.iter().any(|r| r.to_runner.is_none());
        let cause_deadline = consequence.as_ref().map(|(_, deadline)| *deadline);
        let event = tokio::select! {
            event = queue.recv() => match event {
                Some(event) => event,
                None => break Outcome::Failed("the orchestrator lost its event queue".into()),
            },
            _ = tokio::time::sleep_until(cause_deadline.unwrap_or(connect_deadline)), if cause_deadline.is_some() => {
                break consequence.take().map(|(outcome, _)| outcome).unwrap_or(Outcome::Finished);
            }
            _ = tokio::time::sleep_until(connect_deadline), if waiting_for_hello => {
                let late: Vec<&RunnerState> = runners.iter().filter(|r| r.to_runner.is_none()).collect();
                let names: Vec<String> = late.iter().map(|r| format!("{} ({})", r.id, r.argv.join(" "))).collect();
                let output: String = late.iter().map(|r| r.recent_output()).collect();
                break Outcome::Failed(format!(
                    "runner {} did not connect within {} s{output}",
                    names.join(", "),
                    options.connect_timeout.as_secs()
                ));
            }
        };
        if let Some(outcome) = handle(event, plan, &mut runners, processors, ends, reporter, options.live.as_ref()) {
            match (&outcome, &consequence) {
                (Outcome::Failed(why), None) if is_consequence(why) => {
                    consequence = Some((outcome, tokio::time::Instant::now() + CAUSE_GRACE));
                }
                (Outcome::Failed(why), Some(_)) if is_consequence(why) => {}
                (_, Some((Outcome::Failed(earlier), _))) => {
                    // A lost connection is how a crash first shows; its exit status says it all.
                    let first = earlier.lines().next().unwrap_or_default();
                    if !first.contains(LOST_CONNECTION) {
                        reporter.warn(&format!("before that: {first}"));
                    }
                    break outcome;
                }
                _ => break outcome,
            }
        }
    };
    let stopping = Stopping { queue: &mut queue, options, reporter, processors, ends };
    stop_all(runners, outcome, stopping).await
}

/// How long a failure that only reports a vanished peer waits for the failure that caused it: the
/// runner whose processor failed drops that processor's channels at about the time it reports the
/// failure, and its peers' reports can win the race to the orchestrator.
const CAUSE_GRACE: Duration = Duration::from_millis(500);

/// Whether a failure is only the consequence of a peer going away (FRAMING.md: a vanished writer or
/// reader), or of a runner's process ending: its control connection closes just before its exit
/// status arrives, which says more (`exited with signal: 9 (SIGKILL)`).
fn is_consequence(why: &str) -> bool {
    why.lines().next().is_some_and(|first| first.contains(" vanished") || first.contains(LOST_CONNECTION))
}

const LOST_CONNECTION: &str = " lost its control connection";

/// Reacts to one event; Some(outcome) when the run must stop.
fn handle(
    event: Event,
    plan: &Plan,
    runners: &mut [RunnerState],
    processors: &mut [ProcessorRun],
    ends: &mut BTreeMap<(String, String, String), EndStats>,
    reporter: &mut Reporter,
    live: Option<&Live>,
) -> Option<Outcome> {
    match event {
        Event::Connected { runner, to_runner, route } => {
            let state = runners.iter_mut().find(|r| r.id == runner)?;
            state.to_runner = Some(to_runner);
            state.route = Some(route);
            reporter.debug(&format!("runner {runner} connected"));
            if runners.iter().all(|r| r.to_runner.is_some()) {
                for r in runners.iter() {
                    r.send(assignment(plan, &r.id));
                }
            }
        }
        Event::Message { runner, message } => {
            return on_message(&runner, message, runners, processors, ends, reporter, false, live)
        }
        Event::Disconnected { runner, reason, silent } => {
            let state = runners.iter_mut().find(|r| r.id == runner)?;
            state.disconnected = true;
            state.silent = silent;
            if !state.said_bye {
                return Some(Outcome::Failed(format!(
                    "runner {runner}{LOST_CONNECTION}: {reason}{}",
                    state.recent_output()
                )));
            }
        }
        Event::Exited { runner, status } => {
            let state = runners.iter_mut().find(|r| r.id == runner)?;
            state.exited = true;
            let status = status.map(|s| s.to_string()).unwrap_or_else(|| "an unknown status".into());
            return Some(Outcome::Failed(format!(
                "runner {runner} ({}) exited with {status} before the pipeline finished{}",
                state.argv.join(" "),
                state.recent_output()
            )));
        }
        Event::Output { runner, stream, line } => {
            if let Some(state) = runners.iter_mut().find(|r| r.id == runner) {
                state.remember(line.clone());
            }
            if let Some(live) = live {
                let level = if stream == Stream::Stderr { Level::Warn } else { Level::Info };
                live.log(&runner, None, level, &line);
            }
            reporter.runner_output(&runner, stream == Stream::Stderr, &line);
        }
        Event::Signal(signal) => return Some(Outcome::Interrupted(signal)),
        Event::Refused { reason } => reporter.refused(&reason),
    }
    None
}

/// While `stopping`, messages are only recorded: no phase moves on, no outcome changes.
/// Then shows the change in `live`, for the messages that change processor states or counters.
#[allow(clippy::too_many_arguments)]
fn on_message(
    runner: &str,
    message: RunnerMessage,
    runners: &mut [RunnerState],
    processors: &mut [ProcessorRun],
    ends: &mut BTreeMap<(String, String, String), EndStats>,
    reporter: &mut Reporter,
    stopping: bool,
    live: Option<&Live>,
) -> Option<Outcome> {
    let changes_state = matches!(
        message,
        RunnerMessage::Wired
            | RunnerMessage::Initialised
            | RunnerMessage::Finished { .. }
            | RunnerMessage::Failed { .. }
            | RunnerMessage::Stats { .. }
    );
    match (&message, live) {
        (RunnerMessage::Listening { endpoint }, Some(live)) => live.endpoint(runner, endpoint),
        (RunnerMessage::Log { processor, level, message }, Some(live)) => {
            live.log(runner, processor.as_deref(), *level, message)
        }
        _ => {}
    }
    let outcome = react(runner, message, runners, processors, ends, reporter, stopping);
    if let (true, Some(live)) = (changes_state, live) {
        live.update(processors, ends);
    }
    outcome
}

/// Every runner's data endpoint, as `to` can reach it. A runner on this host that announced loopback (it
/// dialled riffle on loopback and bound a wildcard address) is, for a runner on another host, at the
/// address that runner reached riffle at.
fn endpoints_seen_from(to: &RunnerState, runners: &[RunnerState]) -> serde_json::Map<String, serde_json::Value> {
    let remote_reached = to.route.filter(|route| !route.peer.ip().is_loopback()).map(|route| route.reached.ip());
    runners
        .iter()
        .map(|r| {
            let announced = r.endpoint.clone().unwrap_or_default();
            let here = r.route.is_some_and(|route| route.peer.ip().is_loopback());
            let seen = match (remote_reached, announced.parse::<SocketAddr>()) {
                (Some(ip), Ok(addr)) if here && addr.ip().is_loopback() => SocketAddr::new(ip, addr.port()).to_string(),
                _ => announced,
            };
            (r.id.clone(), serde_json::Value::String(seen))
        })
        .collect()
}

fn react(
    runner: &str,
    message: RunnerMessage,
    runners: &mut [RunnerState],
    processors: &mut [ProcessorRun],
    ends: &mut BTreeMap<(String, String, String), EndStats>,
    reporter: &mut Reporter,
    stopping: bool,
) -> Option<Outcome> {
    let index = runners.iter().position(|r| r.id == runner)?;
    match message {
        RunnerMessage::Listening { .. } | RunnerMessage::Wired | RunnerMessage::Initialised if stopping => {}
        RunnerMessage::Hello { .. } => {
            return Some(Outcome::Failed(format!("runner {runner} said hello twice")));
        }
        RunnerMessage::Listening { endpoint } => {
            runners[index].endpoint = Some(endpoint);
            if runners.iter().all(|r| r.endpoint.is_some()) {
                for r in runners.iter() {
                    let endpoints = endpoints_seen_from(r, runners);
                    reporter.debug(&format!(
                        "runner {} is told the endpoints {}",
                        r.id,
                        serde_json::Value::from(endpoints.clone())
                    ));
                    r.send(OrchestratorMessage::Connect { endpoints });
                }
            }
        }
        RunnerMessage::Wired => {
            runners[index].wired = true;
            if runners.iter().all(|r| r.wired) {
                reporter.debug("every channel is connected; initialising processors");
                for processor in processors.iter_mut() {
                    processor.state = ProcessorState::Initialising;
                }
                for r in runners.iter() {
                    r.send(OrchestratorMessage::Init);
                }
            }
        }
        RunnerMessage::Initialised => {
            runners[index].initialised = true;
            if runners.iter().all(|r| r.initialised) {
                let now = Instant::now();
                for processor in processors.iter_mut() {
                    processor.state = ProcessorState::Running;
                    processor.started = Some(now);
                }
                reporter.debug("every processor is initialised; starting");
                for r in runners.iter() {
                    r.send(OrchestratorMessage::Start);
                }
            }
        }
        RunnerMessage::Finished { processor } => {
            if let Some(p) = processors.iter_mut().find(|p| p.id == processor) {
                p.state = ProcessorState::Finished;
                p.ended = Some(Instant::now());
            }
            if !stopping && processors.iter().all(|p| p.state == ProcessorState::Finished) {
                return Some(Outcome::Finished);
            }
        }
        RunnerMessage::Failed { processor, phase, message, stack } => {
            let phase = match phase {
                Phase::Init => "init",
                Phase::Transform => "transform",
                Phase::Produce => "produce",
            };
            let shown = reporter.name(&processor);
            if stopping {
                // A consequence of the stop: runners drop their connections as they stop, and a reader
                // can see its writer vanish before its own runner has read the stop. The processor was
                // stopped, and keeps that state; the failure gets one line, so that the cause of the
                // stop, printed last and in full, stands out.
                let first = message.lines().next().unwrap_or_default();
                reporter.warn(&format!("processor {shown} (runner {runner}) also failed in {phase}: {first}"));
                return None;
            }
            let stack = stack.map(|s| s.trim_end().to_string()).filter(|s| !s.is_empty());
            if let Some(p) = processors.iter_mut().find(|p| p.id == processor) {
                p.state = ProcessorState::Failed;
                p.ended = Some(Instant::now());
                p.error = Some(message.clone());
                p.stack = stack.clone();
            }
            let stack = stack.map(|s| format!("\n  stack:\n    {}", s.replace('\n', "\n    "))).unwrap_or_default();
            return Some(Outcome::Failed(format!(
                "processor {shown} (runner {runner}) failed in {phase}: {message}{stack}"
            )));
        }
        RunnerMessage::Log { processor, level, message } => {
            // What it said last is worth showing if it dies next.
            let shown = match &processor {
                Some(p) => format!("{} {message}", reporter.tag(p)),
                None => message.clone(),
            };
            runners[index].remember(shown);
            reporter.log(runner, processor.as_deref(), level, &message)
        }
        RunnerMessage::Stats { ends: stats } => {
            for end in stats {
                let role = match end.role {
                    riffle_protocol::Role::Reader => "reader",
                    riffle_protocol::Role::Writer => "writer",
                };
                ends.insert((end.channel.clone(), end.processor.clone(), role.to_string()), end);
            }
            reporter.progress(ends);
        }
        RunnerMessage::Bye => runners[index].said_bye = true,
    }
    None
}

/// Asks every runner to stop, waits up to the grace period for them to exit, then kills the rest
/// and waits for those exits too, so that no process outlives the run. A second Ctrl-C kills at once.
struct Stopping<'a> {
    queue: &'a mut mpsc::UnboundedReceiver<Event>,
    options: &'a RunOptions,
    reporter: &'a mut Reporter,
    processors: &'a mut [ProcessorRun],
    ends: &'a mut BTreeMap<(String, String, String), EndStats>,
}

async fn stop_all(mut runners: Vec<RunnerState>, outcome: Outcome, stopping: Stopping<'_>) -> Outcome {
    let Stopping { queue, options, reporter, processors, ends } = stopping;
    let reason = match &outcome {
        Outcome::Finished => "every processor finished".to_string(),
        Outcome::Failed(why) => why.lines().next().unwrap_or_default().to_string(),
        Outcome::Interrupted(Signal::Interrupt) => "interrupted (SIGINT)".to_string(),
        Outcome::Interrupted(Signal::Terminate) => "terminated (SIGTERM)".to_string(),
        Outcome::Interrupted(Signal::HangUp) => "hung up (SIGHUP)".to_string(),
    };
    // A failure is told once, at the end, in full; an interruption is worth saying as it happens.
    if let Outcome::Interrupted(_) = outcome {
        reporter.status(&format!("stopping: {reason}"));
    }
    for runner in &mut runners {
        if runner.silent {
            if let Some(launched) = &mut runner.launched {
                launched.kill();
            }
        } else if runner.to_runner.is_some() && !runner.exited {
            runner.send(OrchestratorMessage::Stop { reason: reason.clone() });
        } else if let Some(launched) = &mut runner.launched {
            // Never connected: nothing to ask, only to end.
            launched.kill();
        }
    }
    let mut kill_at = tokio::time::Instant::now() + options.stop_grace;
    let mut killed = false;
    while !runners.iter().all(RunnerState::gone) {
        let event = tokio::select! {
            event = queue.recv() => event,
            _ = tokio::time::sleep_until(kill_at) => {
                if killed {
                    // Exits must follow a SIGKILL; if the wait itself is stuck, dropping the
                    // children kills them again (kill_on_drop) and we go.
                    break;
                }
                for runner in runners.iter_mut().filter(|r| !r.exited && r.launched.is_some()) {
                    reporter.warn(&format!("runner {} did not exit within {} ms of stop; killing it", runner.id, options.stop_grace.as_millis()));
                    if let Some(launched) = &mut runner.launched {
                        launched.kill();
                    }
                }
                killed = true;
                kill_at = tokio::time::Instant::now() + Duration::from_secs(5);
                continue;
            }
        };
        match event {
            Some(Event::Exited { runner, .. }) => {
                if let Some(state) = runners.iter_mut().find(|r| r.id == runner) {
                    state.exited = true;
                }
            }
            Some(Event::Disconnected { runner, silent, .. }) => {
                if let Some(state) = runners.iter_mut().find(|r| r.id == runner) {
                    state.disconnected = true;
                    if silent {
                        if let Some(launched) = &mut state.launched {
                            launched.kill();
                        }
                    }
                }
            }
            Some(Event::Signal(_)) => {
                reporter.status("second signal: killing every runner now");
                for runner in runners.iter_mut().filter(|r| !r.exited) {
                    if let Some(launched) = &mut runner.launched {
                        launched.kill();
                    }
                }
                killed = true;
            }
            Some(Event::Message { runner, message }) => {
                let live = options.live.as_ref();
                on_message(&runner, message, &mut runners, processors, ends, reporter, true, live);
            }
            Some(Event::Output { runner, stream, line }) => {
                reporter.runner_output(&runner, stream == Stream::Stderr, &line)
            }
            Some(_) => {}
            None => break,
        }
    }
    outcome
}

/// In an encrypted run, its certificate and key (PEM, and ready for TLS): from `--secret-file`, or new.
fn run_identity(options: &RunOptions) -> Result<Option<(String, riffle_channels::RunTls)>, String> {
    if !options.encrypted() {
        return Ok(None);
    }
    let pem = match &options.secret {
        Some(given) => given.text.clone(),
        None => super::identity::generate()?,
    };
    match riffle_channels::RunTls::from_pem(pem.as_bytes()) {
        Ok(tls) => Ok(Some((pem, tls))),
        Err(e) => Err(match &options.secret {
            Some(given) => format!(
                "--secret-file {} {e}: an encrypted run ({}) also needs the run's certificate and key in it, \
after the secret; make such a file with `riffle secret FILE`",
                given.path.display(),
                if options.tls { "--tls".to_owned() } else { format!("--listen {}", options.listen) }
            ),
            None => format!("the run's new certificate and key are unusable: {e}"),
        }),
    }
}

fn watch_signals(events: mpsc::UnboundedSender<Event>) {
    use tokio::signal::unix::{signal, SignalKind};
    let signals = [
        (SignalKind::interrupt(), Signal::Interrupt),
        (SignalKind::terminate(), Signal::Terminate),
        (SignalKind::hangup(), Signal::HangUp),
    ];
    for (kind, which) in signals {
        let Ok(mut stream) = signal(kind) else { continue };
        let events = events.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if events.send(Event::Signal(which)).is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Names;
    use crate::run::LogFormat;

    fn running(id: &str) -> ProcessorRun {
        ProcessorRun {
            id: id.into(),
            runner: "r".into(),
            state: ProcessorState::Running,
            started: Some(Instant::now()),
            ended: None,
            error: None,
            stack: None,
        }
    }

    fn failed(processor: &str) -> RunnerMessage {
        RunnerMessage::Failed {
            processor: processor.into(),
            phase: Phase::Transform,
            message: "writer w vanished without closing".into(),
            stack: None,
        }
    }

    #[test]
    fn a_failure_while_stopping_leaves_the_processor_stopped_and_the_outcome_alone() {
        let mut runners = vec![RunnerState::new("r".into(), Vec::new(), None)];
        let mut processors = vec![running("urn:p")];
        let mut ends = BTreeMap::new();
        let mut reporter = Reporter::new(LogFormat::Text, true, false, Names::new("file:///tmp/".into()));
        let outcome = react("r", failed("urn:p"), &mut runners, &mut processors, &mut ends, &mut reporter, true);
        assert!(outcome.is_none());
        assert_eq!((processors[0].state, &processors[0].error), (ProcessorState::Running, &None));
        // The same failure while running fails the processor and the run.
        let outcome = react("r", failed("urn:p"), &mut runners, &mut processors, &mut ends, &mut reporter, false);
        assert!(
            matches!(outcome, Some(Outcome::Failed(ref why)) if why.contains("failed in transform")),
            "{outcome:?}"
        );
        assert_eq!(processors[0].state, ProcessorState::Failed);
    }
}
