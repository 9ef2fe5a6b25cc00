//! What `riffle run` shows: processor and runner logs with the processor named, live progress on a
//! terminal, and a summary of every channel and processor at the end.

use super::orchestrator::{Outcome, RunReport};
use super::rate::RateMeter;
use crate::names::Names;
use crate::plan::Plan;
use riffle_protocol::{EndStats, Level};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `[<processor>] message`, for people.
    Text,
    /// One JSON object a line: level, runner, processor, message.
    Json,
}

pub struct Reporter {
    format: LogFormat,
    /// Lines kept instead of printed (the conformance kit reads a run's output); None prints them.
    captured: Option<Vec<String>>,
    quiet: bool,
    /// Redraw a progress line on stderr (by default only on a terminal; never in JSON mode).
    live: bool,
    debug: bool,
    names: Names,
    drawn: bool,
    created: Instant,
    last_draw: Option<Instant>,
    meters: BTreeMap<String, RateMeter>,
    /// Refused control connections not yet warned about, and when the last warning was.
    refused: (u64, Option<Instant>),
}

/// A flood of strangers on the control port gets one warning a second, with a count.
const REFUSED_EVERY: Duration = Duration::from_secs(1);

const REDRAW: Duration = Duration::from_millis(200);

impl Reporter {
    /// `live`: draw the progress line (still never in quiet or JSON mode).
    pub fn new(format: LogFormat, quiet: bool, live: bool, names: Names) -> Reporter {
        let debug = std::env::var_os("RIFFLE_DEBUG").is_some();
        Reporter {
            format,
            captured: None,
            quiet,
            live: live && !quiet && format == LogFormat::Text,
            debug,
            names,
            drawn: false,
            created: Instant::now(),
            last_draw: None,
            meters: BTreeMap::new(),
            refused: (0, None),
        }
    }

    /// A control connection was refused (wrong secret, bad hello...): warned at most once a second.
    pub fn refused(&mut self, reason: &str) {
        let (pending, last) = self.refused;
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < REFUSED_EVERY) {
            self.refused = (pending + 1, last);
            return;
        }
        let more =
            if pending > 0 { format!(" ({pending} more refused since the last warning)") } else { String::new() };
        self.warn(&format!("refused a control connection: {reason}{more}"));
        self.refused = (0, Some(now));
    }

    /// A reporter that keeps every line it would print, for [`Reporter::take_captured`].
    pub fn capturing(names: Names) -> Reporter {
        Reporter { captured: Some(Vec::new()), ..Reporter::new(LogFormat::Text, false, false, names) }
    }

    /// The lines kept so far by a [`Reporter::capturing`] reporter.
    pub fn take_captured(&mut self) -> Vec<String> {
        self.captured.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn stdout_line(&mut self, line: &str) {
        self.clear_progress();
        match &mut self.captured {
            Some(lines) => lines.push(line.to_string()),
            None => {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        }
    }

    fn stderr_line(&mut self, line: &str) {
        self.clear_progress();
        match &mut self.captured {
            Some(lines) => lines.push(line.to_string()),
            None => eprintln!("{line}"),
        }
    }

    /// How messages name a processor or channel: as the author wrote it.
    pub fn name(&self, id: &str) -> String {
        self.names.id(id)
    }

    /// The name in brackets, as it starts a log line; a blank processor's name has its own.
    pub fn tag(&self, id: &str) -> String {
        let name = self.name(id);
        if name.starts_with('[') {
            name
        } else {
            format!("[{name}]")
        }
    }

    fn clear_progress(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }

    fn json(&mut self, value: serde_json::Value) {
        self.stdout_line(&value.to_string());
    }

    /// Riffle's own progress notes ("starting 2 runners").
    pub fn status(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        match self.format {
            LogFormat::Text => self.stderr_line(&format!("riffle: {message}")),
            LogFormat::Json => {
                self.json(serde_json::json!({ "level": "info", "runner": null, "processor": null, "message": message }))
            }
        }
    }

    /// A line the user asked for (where to find the dashboard): printed as it is, even with --quiet.
    pub fn announce(&mut self, line: &str) {
        match self.format {
            LogFormat::Text => self.stderr_line(line),
            LogFormat::Json => {
                self.json(serde_json::json!({ "level": "info", "runner": null, "processor": null, "message": line }))
            }
        }
    }

    pub fn debug(&mut self, message: &str) {
        if self.debug {
            self.status(message);
        }
    }

    pub fn warn(&mut self, message: &str) {
        match self.format {
            LogFormat::Text => self.stderr_line(&format!("riffle: warning: {message}")),
            LogFormat::Json => {
                self.json(serde_json::json!({ "level": "warn", "runner": null, "processor": null, "message": message }))
            }
        }
    }

    /// A log line from a processor (or, without one, from a runner itself).
    pub fn log(&mut self, runner: &str, processor: Option<&str>, level: Level, message: &str) {
        if self.quiet && level < Level::Warn {
            return;
        }
        if level == Level::Debug && !self.debug {
            return;
        }
        let level_name = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        match self.format {
            LogFormat::Text => {
                let who = match processor {
                    Some(p) => self.tag(p),
                    None => format!("[runner {runner}]"),
                };
                let prefix = match level {
                    Level::Warn => "warning: ",
                    Level::Error => "error: ",
                    _ => "",
                };
                for line in message.lines() {
                    self.stdout_line(&format!("{who} {prefix}{line}"));
                }
            }
            LogFormat::Json => {
                self.json(serde_json::json!({ "level": level_name, "runner": runner, "processor": processor, "message": message }))
            }
        }
    }

    /// A line a runner printed outside the protocol (its own stdout or stderr).
    pub fn runner_output(&mut self, runner: &str, stderr: bool, line: &str) {
        let level = if stderr { Level::Warn } else { Level::Info };
        if self.quiet && !stderr {
            return;
        }
        match self.format {
            LogFormat::Text => self.stdout_line(&format!("[runner {runner}] {line}")),
            LogFormat::Json => self.json(serde_json::json!({
                "level": if level == Level::Warn { "warn" } else { "info" },
                "runner": runner,
                "processor": null,
                "stream": if stderr { "stderr" } else { "stdout" },
                "message": line,
            })),
        }
    }

    /// Redraws the progress line: messages and rate per channel.
    pub fn progress(&mut self, ends: &BTreeMap<(String, String, String), EndStats>) {
        if !self.live {
            return;
        }
        let now = Instant::now();
        // Runners report on their own clocks, so a channel's count may not have moved since the last
        // draw only because its runner has not reported yet: a rate is measured between changes.
        for (channel, (messages, _)) in channel_totals(ends) {
            self.meters.entry(channel).or_insert_with(|| RateMeter::new(self.created)).record(now, messages);
        }
        if self.last_draw.is_some_and(|at| now.duration_since(at) < REDRAW) {
            return;
        }
        let parts: Vec<String> = self
            .meters
            .iter()
            .map(|(channel, meter)| {
                format!("{} {} msg ({}/s)", self.name(channel), grouped(meter.count()), compact(meter.rate()))
            })
            .collect();
        self.last_draw = Some(now);
        // A line longer than the terminal wraps, and `\r` then redraws only its last row.
        eprint!("\r\x1b[2K{}", fit(&parts, terminal_width()));
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    pub fn summary(&mut self, report: &RunReport, plan: &Plan) {
        // What is written to a channel nobody reads is counted, then dropped.
        let dropped = |c: &crate::plan::Channel| c.readers.is_empty() && !c.transport.is_external();
        self.clear_progress();
        // --quiet still says how it ended; a failure's error, printed by the caller, says it then.
        if self.quiet {
            if !matches!(report.outcome, Outcome::Failed(_)) && self.format == LogFormat::Text {
                let outcome = outcome_line(report);
                self.stderr_line(&outcome);
            }
            return;
        }
        let totals = channel_totals(&report.ends);
        if self.format == LogFormat::Json {
            let blocked = blocked_seconds(&report.ends);
            let channels: Vec<serde_json::Value> = plan
                .channels
                .iter()
                .map(|c| {
                    let (messages, bytes) = totals.get(&c.id).copied().unwrap_or((0, 0));
                    let mut channel = serde_json::json!({ "channel": c.id, "messages": messages, "bytes": bytes });
                    if dropped(c) {
                        channel["dropped"] = serde_json::json!(messages);
                    }
                    if let Some(seconds) = blocked.get(&c.id) {
                        channel["blocked_seconds"] = serde_json::json!(seconds);
                    }
                    channel
                })
                .collect();
            let processors: Vec<serde_json::Value> = report
                .processors
                .iter()
                .map(|p| serde_json::json!({ "processor": p.id, "state": p.state.as_str(), "seconds": seconds(p) }))
                .collect();
            let outcome = match &report.outcome {
                Outcome::Finished => "finished",
                Outcome::Failed(_) => "failed",
                Outcome::Interrupted(_) => "interrupted",
            };
            self.json(serde_json::json!({ "summary": { "outcome": outcome, "seconds": report.elapsed.as_secs_f64(), "channels": channels, "processors": processors } }));
            return;
        }
        let mut rows = vec![["channel".to_string(), "messages".to_string(), "bytes".to_string()]];
        for channel in &plan.channels {
            let (messages, bytes) = totals.get(&channel.id).copied().unwrap_or((0, 0));
            let name = self.name(&channel.id);
            let name = if dropped(channel) { format!("{name} (no reader: dropped)") } else { name };
            rows.push([name, grouped(messages), grouped(bytes)]);
        }
        let mut processor_rows = vec![["processor".to_string(), "state".to_string(), "time".to_string()]];
        for p in &report.processors {
            let time = seconds(p).map(|s| format!("{s:.3} s")).unwrap_or_else(|| "-".into());
            processor_rows.push([self.name(&p.id), p.state.as_str().to_string(), time]);
        }
        let outcome = outcome_line(report);
        self.stderr_line(&outcome);
        let tables: Vec<&Vec<[String; 3]>> =
            if plan.channels.is_empty() { vec![&processor_rows] } else { vec![&rows, &processor_rows] };
        for table in tables {
            let widths: Vec<usize> =
                (0..3).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
            for row in table.iter() {
                let line = format!(
                    "  {:<w0$}  {:>w1$}  {:>w2$}",
                    row[0],
                    row[1],
                    row[2],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                );
                self.stderr_line(&line);
            }
        }
    }
}

fn seconds(p: &super::orchestrator::ProcessorRun) -> Option<f64> {
    Some(p.ended?.duration_since(p.started?).as_secs_f64())
}

/// Messages and bytes per channel: what its writers sent, or if no writer reported, what its
/// readers received.
pub fn channel_totals(ends: &BTreeMap<(String, String, String), EndStats>) -> BTreeMap<String, (u64, u64)> {
    let mut written: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut read: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for ((channel, _, role), stats) in ends {
        let map = if role == "writer" { &mut written } else { &mut read };
        let entry = map.entry(channel.clone()).or_default();
        entry.0 += stats.messages;
        entry.1 += stats.bytes;
    }
    for (channel, totals) in read {
        written.entry(channel).or_insert(totals);
    }
    written
}

/// Seconds the writers of each channel waited for room (backpressure), summed over the writers whose
/// runners report it; channels without such a writer are absent.
pub fn blocked_seconds(ends: &BTreeMap<(String, String, String), EndStats>) -> BTreeMap<String, f64> {
    let mut blocked: BTreeMap<String, f64> = BTreeMap::new();
    for ((channel, _, role), stats) in ends {
        if let (true, Some(us)) = (role == "writer", stats.blocked_us) {
            *blocked.entry(channel.clone()).or_default() += us as f64 / 1e6;
        }
    }
    blocked
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The channels' parts joined on one line of at most `width - 1` characters (the last column would
/// wrap on some terminals): as many as fit, then how many were left out.
fn fit(parts: &[String], width: usize) -> String {
    let room = width.saturating_sub(1);
    let mut line = String::new();
    let mut used = 0;
    for (i, part) in parts.iter().enumerate() {
        let sep = if i == 0 { 0 } else { 3 };
        let rest = parts.len() - i - 1;
        // Room kept for " | +N more" unless this is the last part.
        let tail = if rest == 0 { 0 } else { format!(" | +{rest} more").chars().count() };
        let len = part.chars().count();
        if used + sep + len + tail > room {
            let more = format!("+{} more", parts.len() - i);
            if i == 0 {
                // Not even one fits: as much of it as does.
                return part.chars().take(room).collect();
            }
            line.push_str(" | ");
            line.push_str(&more);
            return line;
        }
        if i > 0 {
            line.push_str(" | ");
        }
        line.push_str(part);
        used += sep + len;
    }
    line
}

/// Columns of the terminal on stderr; 80 when it does not say.
fn terminal_width() -> usize {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct it is given, which outlives the call.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        return size.ws_col as usize;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|&c| c > 0).unwrap_or(80)
}

fn compact(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.1}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

/// `riffle: finished in 1.234 s`.
fn outcome_line(report: &RunReport) -> String {
    let how = match report.outcome {
        Outcome::Finished => "finished",
        Outcome::Failed(_) => "failed",
        Outcome::Interrupted(_) => "interrupted",
    };
    format!("riffle: {how} in {:.3} s", report.elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_fits_the_terminal_and_says_what_it_left_out() {
        let parts: Vec<String> = ["a 1 msg (1/s)", "bb 22 msg (2/s)", "ccc 333 msg (3/s)"].map(String::from).into();
        assert_eq!(fit(&parts, 80), "a 1 msg (1/s) | bb 22 msg (2/s) | ccc 333 msg (3/s)");
        assert_eq!(fit(&parts, 42), "a 1 msg (1/s) | bb 22 msg (2/s) | +1 more");
        assert_eq!(fit(&parts, 41), "a 1 msg (1/s) | +2 more");
        assert_eq!(fit(&parts, 30), "a 1 msg (1/s) | +2 more");
        assert_eq!(fit(&parts, 8), "a 1 msg");
        for width in 1..60 {
            assert!(fit(&parts, width).chars().count() < width.max(2), "width {width}: {}", fit(&parts, width));
        }
    }

    #[test]
    fn a_flood_of_refused_connections_is_one_warning_with_a_count() {
        let mut reporter = Reporter::capturing(Names::new("file:///p/".into()));
        for _ in 0..100 {
            reporter.refused("wrong secret");
        }
        assert_eq!(reporter.take_captured(), ["riffle: warning: refused a control connection: wrong secret"]);
        reporter.refused.1 = Some(Instant::now() - REFUSED_EVERY);
        reporter.refused("wrong secret");
        assert_eq!(
            reporter.take_captured(),
            ["riffle: warning: refused a control connection: wrong secret (99 more refused since the last warning)"]
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(1234.0), "1.2k");
        assert_eq!(compact(12.0), "12");
    }
}
