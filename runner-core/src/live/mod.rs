//! Live introspection of a running pipeline (`riffle run --sparql`): the orchestrator keeps a
//! [`Live`] snapshot up to date; the [`server`] answers SPARQL over the pipeline's graphs, the plan
//! graph and a state graph made from that snapshot when a query comes, and serves Prometheus
//! metrics. Nothing is computed while nobody asks, so a run pays for a few copies per stats report.

pub mod client;
pub mod dashboard;
pub mod metrics;
pub mod process;
pub mod server;
pub mod state_graph;

use crate::run::orchestrator::{ProcessorRun, ProcessorState};
use crate::run::rate::RateMeter;
use crate::run::report::{blocked_seconds, channel_totals};
use riffle_protocol::{EndStats, Level};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

/// The orchestrator's view of the run, shared with the endpoint.
#[derive(Clone, Default)]
pub struct Live(Arc<Mutex<Snapshot>>);

pub struct Snapshot {
    pub started: Instant,
    pub started_at: SystemTime,
    /// How the run ended ("finished", "failed", "interrupted") and when; None while it runs.
    pub ended: Option<(&'static str, SystemTime)>,
    pub error: Option<String>,
    pub processors: Vec<ProcessorView>,
    /// Every channel end's counters, by (channel, processor, role).
    pub ends: BTreeMap<(String, String, String), EndStats>,
    /// Messages per channel over the last second.
    pub meters: BTreeMap<String, RateMeter>,
    /// Runner instance id to the process id of a runner this orchestrator started.
    pub runner_pids: BTreeMap<String, Option<u32>>,
    /// Runner instance id to the `host:port` of its data endpoint, once it said so.
    pub endpoints: BTreeMap<String, String>,
    /// The last [`LOG_LINES`] lines processors and runners logged, oldest first.
    pub log: VecDeque<LogLine>,
    /// Lines logged since the run started: the next line's number.
    pub logged: u64,
}

/// How many log lines the snapshot keeps for the dashboard.
pub const LOG_LINES: usize = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Its place among every line of the run, from 0, so a client asks only for lines it has not seen.
    pub number: u64,
    pub at: SystemTime,
    pub runner: String,
    /// None for a line of the runner's own (its output outside the protocol, or a runner log).
    pub processor: Option<String>,
    pub level: Level,
    pub message: String,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            started: Instant::now(),
            started_at: SystemTime::now(),
            ended: None,
            error: None,
            processors: Vec::new(),
            ends: BTreeMap::new(),
            meters: BTreeMap::new(),
            runner_pids: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            log: VecDeque::new(),
            logged: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProcessorView {
    pub id: String,
    pub runner: String,
    pub state: ProcessorState,
    pub started_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub error: Option<String>,
    pub stack: Option<String>,
}

/// One channel's figures, summed over its ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelFigures {
    pub messages: u64,
    pub bytes: u64,
    /// Messages written and not yet read, by the slowest reader.
    pub queued: u64,
    /// Seconds its writers waited for room (backpressure), when their runners report it.
    pub blocked_seconds: Option<f64>,
    pub messages_per_second: f64,
}

impl Live {
    pub fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the orchestrator's processor states and channel counters as they are now.
    pub fn update(&self, processors: &[ProcessorRun], ends: &BTreeMap<(String, String, String), EndStats>) {
        self.processors(processors);
        self.ends(ends);
    }

    fn processors(&self, processors: &[ProcessorRun]) {
        let mut snapshot = self.lock();
        let (started, started_at) = (snapshot.started, snapshot.started_at);
        let wall = |at: Option<Instant>| at.map(|at| started_at + at.saturating_duration_since(started));
        snapshot.processors = processors
            .iter()
            .map(|p| ProcessorView {
                id: p.id.clone(),
                runner: p.runner.clone(),
                state: p.state,
                started_at: wall(p.started),
                ended_at: wall(p.ended),
                error: p.error.clone(),
                stack: p.stack.clone(),
            })
            .collect();
    }

    fn ends(&self, ends: &BTreeMap<(String, String, String), EndStats>) {
        let mut snapshot = self.lock();
        let (now, started) = (Instant::now(), snapshot.started);
        for (channel, (messages, _)) in channel_totals(ends) {
            snapshot.meters.entry(channel).or_insert_with(|| RateMeter::new(started)).record(now, messages);
        }
        snapshot.ends = ends.clone();
    }

    pub fn runner(&self, id: &str, pid: Option<u32>) {
        self.lock().runner_pids.insert(id.to_string(), pid);
    }

    pub fn endpoint(&self, id: &str, endpoint: &str) {
        self.lock().endpoints.insert(id.to_string(), endpoint.to_string());
    }

    /// A line a processor or runner logged; debug lines are left out, as the terminal leaves them.
    pub fn log(&self, runner: &str, processor: Option<&str>, level: Level, message: &str) {
        if level == Level::Debug {
            return;
        }
        let mut snapshot = self.lock();
        if snapshot.log.len() == LOG_LINES {
            snapshot.log.pop_front();
        }
        let number = snapshot.logged;
        snapshot.logged += 1;
        snapshot.log.push_back(LogLine {
            number,
            at: SystemTime::now(),
            runner: runner.to_string(),
            processor: processor.map(str::to_string),
            level,
            message: message.to_string(),
        });
    }

    pub fn ended(&self, outcome: &'static str, error: Option<String>) {
        let mut snapshot = self.lock();
        snapshot.ended = Some((outcome, SystemTime::now()));
        snapshot.error = error;
    }
}

impl Snapshot {
    pub fn channels(&self) -> BTreeMap<String, ChannelFigures> {
        let mut figures: BTreeMap<String, ChannelFigures> = BTreeMap::new();
        let now = Instant::now();
        let blocked = blocked_seconds(&self.ends);
        for (channel, (messages, bytes)) in channel_totals(&self.ends) {
            let rate = self.meters.get(&channel).map_or(0.0, |meter| meter.rate_at(now));
            let blocked_seconds = blocked.get(&channel).copied();
            figures.insert(
                channel,
                ChannelFigures { messages, bytes, messages_per_second: rate, blocked_seconds, ..Default::default() },
            );
        }
        // Queued: what its writers sent minus what its slowest reader got (each reader gets every message).
        let mut written: BTreeMap<&str, u64> = BTreeMap::new();
        let mut slowest: BTreeMap<&str, u64> = BTreeMap::new();
        for ((channel, _, role), end) in &self.ends {
            if role == "writer" {
                *written.entry(channel).or_default() += end.messages;
            } else {
                let least = slowest.entry(channel).or_insert(u64::MAX);
                *least = (*least).min(end.messages);
            }
        }
        for (channel, f) in figures.iter_mut() {
            if let (Some(w), Some(r)) = (written.get(channel.as_str()), slowest.get(channel.as_str())) {
                f.queued = w.saturating_sub(*r);
            }
        }
        figures
    }
}

/// `SystemTime` as an `xsd:dateTime` lexical form in UTC, to the millisecond.
pub fn date_time(at: SystemTime) -> String {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let (days, seconds) = ((since.as_secs() / 86_400) as i64, since.as_secs() % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60,
        since.subsec_millis()
    )
}

/// The inverse of [`date_time`]: seconds since the Unix epoch of an `xsd:dateTime` in UTC as the
/// state graph writes it (`2026-12-03T18:31:30.123Z`).
pub fn epoch_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.trim_end_matches('Z').split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let (h, min, s) = (t.next()?.parse::<f64>().ok()?, t.next()?.parse::<f64>().ok()?, t.next()?.parse::<f64>().ok()?);
    // Days from the civil date (Howard Hinnant's algorithm again).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_graph_times_read_back_as_epoch_seconds() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:01.5Z"), Some(951_868_801.5));
        assert_eq!(epoch_seconds("2026-12-03T18:31:30Z"), Some(1_796_322_690.0));
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_796_322_690_123);
        assert_eq!(epoch_seconds(&date_time(at)), Some(1_796_322_690.123));
        assert_eq!(epoch_seconds("yesterday"), None);
    }
    use riffle_protocol::Role;
    use std::time::Duration;

    #[test]
    fn dates_are_xsd_date_times() {
        assert_eq!(date_time(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_263_845_123);
        assert_eq!(date_time(at), "2026-11-21T12:24:05.123Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(date_time(leap), "2000-02-29T00:00:00.000Z");
    }

    fn end(channel: &str, processor: &str, role: Role, messages: u64, blocked_us: Option<u64>) -> EndStats {
        EndStats {
            channel: channel.into(),
            processor: processor.into(),
            role,
            messages,
            bytes: messages * 10,
            blocked_us,
        }
    }

    #[test]
    fn queued_is_what_the_slowest_reader_has_not_got() {
        let live = Live::default();
        let mut ends = BTreeMap::new();
        for e in [
            end("c", "w", Role::Writer, 100, Some(250_000)),
            end("c", "r1", Role::Reader, 90, None),
            end("c", "r2", Role::Reader, 40, None),
            end("d", "r", Role::Reader, 7, None),
        ] {
            let role = if e.role == Role::Writer { "writer" } else { "reader" };
            ends.insert((e.channel.clone(), e.processor.clone(), role.to_string()), e);
        }
        live.ends(&ends);
        let channels = live.lock().channels();
        assert_eq!(
            (channels["c"].messages, channels["c"].queued, channels["c"].blocked_seconds),
            (100, 60, Some(0.25))
        );
        // Only readers have reported: nothing is known to be queued, and nothing of blocking.
        assert_eq!((channels["d"].messages, channels["d"].queued, channels["d"].blocked_seconds), (7, 0, None));
    }
}
