//! The dashboard of `riffle run --dashboard`: a page (HTML, CSS and one ES module, compiled into the
//! binary, no build step and nothing fetched from elsewhere) that draws the pipeline and polls two
//! JSON documents: the plan's shape, made once, and the live figures, made from the [`Snapshot`] at
//! each poll. Its SPARQL box asks the same endpoint's `/sparql`. Nothing here can change the run.

use super::{process, LogLine, Snapshot};
use crate::names::Names;
use crate::plan::Plan;
use riffle_protocol::Level;
use serde_json::{json, Map, Value};
use std::time::SystemTime;

pub const INDEX: &str = include_str!("dashboard/index.html");
pub const SCRIPT: &str = include_str!("dashboard/dashboard.js");
pub const STYLE: &str = include_str!("dashboard/dashboard.css");

/// The most log lines one poll returns; the page keeps no more either.
const LOG_PER_POLL: usize = 500;

/// The pipeline's shape as the page draws it: runner instances, processors and channels, each with
/// the name messages use for it.
pub fn plan_json(plan: &Plan, names: &Names) -> String {
    let runners: Vec<Value> = plan
        .runners
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "runner": names.iri(&r.runner),
                "label": r.label,
                "processors": r.processors,
            })
        })
        .collect();
    let processors: Vec<Value> = plan
        .processors
        .iter()
        .map(|p| json!({ "id": p.id, "name": names.id(&p.id), "class": names.iri(&p.class), "runner": p.runner }))
        .collect();
    let channels: Vec<Value> = plan
        .channels
        .iter()
        .map(|c| {
            let processors = |ends: &[crate::plan::End]| ends.iter().map(|e| e.processor.clone()).collect::<Vec<_>>();
            json!({
                "id": c.id,
                "name": names.id(&c.id),
                "transport": c.transport,
                "writers": processors(&c.writers),
                "readers": processors(&c.readers),
            })
        })
        .collect();
    let pipeline = plan.pipeline.as_deref().map(|p| names.id(p));
    json!({ "pipeline": pipeline, "runners": runners, "processors": processors, "channels": channels }).to_string()
}

fn millis(at: SystemTime) -> Value {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

fn log_line(line: &LogLine) -> Value {
    json!({
        "number": line.number,
        "at": millis(line.at),
        "runner": line.runner,
        "processor": line.processor,
        "level": level_name(line.level),
        "message": line.message,
    })
}

/// The live figures, with the log lines numbered `since` and later (at most [`LOG_PER_POLL`], the
/// newest). `resources` reads a runner's memory and CPU time by its pid (from /proc in a run).
pub fn state_json(snapshot: &Snapshot, since: u64, resources: &dyn Fn(u32) -> (Option<u64>, Option<f64>)) -> String {
    let run = json!({
        "state": match snapshot.ended {
            None => "running",
            Some((outcome, _)) => outcome,
        },
        "startedAt": millis(snapshot.started_at),
        "endedAt": snapshot.ended.map(|(_, at)| millis(at)),
        "error": snapshot.error,
        "now": millis(SystemTime::now()),
    });
    let processors: Map<String, Value> = snapshot
        .processors
        .iter()
        .map(|p| {
            let value = json!({
                "state": p.state.as_str(),
                "startedAt": p.started_at.map(millis),
                "endedAt": p.ended_at.map(millis),
                "error": p.error,
                "stack": p.stack,
            });
            (p.id.clone(), value)
        })
        .collect();
    let channels: Map<String, Value> = snapshot
        .channels()
        .into_iter()
        .map(|(id, f)| {
            let value = json!({
                "messages": f.messages,
                "bytes": f.bytes,
                "queued": f.queued,
                "perSecond": (f.messages_per_second * 10.0).round() / 10.0,
                "blockedSeconds": f.blocked_seconds,
            });
            (id, value)
        })
        .collect();
    let runners: Map<String, Value> = snapshot
        .runner_pids
        .iter()
        .map(|(id, pid)| {
            let (bytes, cpu) = pid.map_or((None, None), resources);
            let value = json!({
                "pid": pid,
                "residentBytes": bytes,
                "cpuSeconds": cpu.map(|s| (s * 100.0).round() / 100.0),
                "endpoint": snapshot.endpoints.get(id),
            });
            (id.clone(), value)
        })
        .collect();
    let fresh = snapshot.log.iter().filter(|l| l.number >= since);
    let skip = fresh.clone().count().saturating_sub(LOG_PER_POLL);
    let lines: Vec<Value> = fresh.skip(skip).map(log_line).collect();
    json!({
        "run": run,
        "processors": processors,
        "channels": channels,
        "runners": runners,
        "log": { "next": snapshot.logged, "lines": lines },
    })
    .to_string()
}

/// What `/state.json` answers on a running system: resources from /proc.
pub fn live_state_json(snapshot: &Snapshot, since: u64) -> String {
    state_json(snapshot, since, &|pid| (process::resident_bytes(pid), process::cpu_seconds(pid)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{Live, ProcessorView};
    use crate::run::orchestrator::ProcessorState;
    use std::time::Duration;

    #[test]
    fn the_state_has_every_figure_and_only_the_log_lines_not_yet_seen() {
        let live = Live::default();
        live.runner("rust", Some(42));
        live.endpoint("rust", "127.0.0.1:4000");
        for i in 0..3 {
            live.log("rust", Some("file:///p/log"), Level::Info, &format!("line {i}"));
        }
        live.log("rust", None, Level::Debug, "not kept");
        live.log("rust", None, Level::Warn, "runner's own");
        let mut snapshot = live.lock();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000);
        snapshot.processors.push(ProcessorView {
            id: "file:///p/log".into(),
            runner: "rust".into(),
            state: ProcessorState::Failed,
            started_at: Some(at),
            ended_at: Some(at + Duration::from_millis(500)),
            error: Some("boom".into()),
            stack: Some("at line 1".into()),
        });
        let state: Value = serde_json::from_str(&state_json(&snapshot, 2, &|_| (Some(1_048_576), Some(0.5)))).unwrap();
        assert_eq!(
            state["processors"],
            json!({ "file:///p/log": {
                "state": "failed", "startedAt": 1_000, "endedAt": 1_500, "error": "boom", "stack": "at line 1"
            }})
        );
        assert_eq!(
            state["runners"],
            json!({ "rust": { "pid": 42, "residentBytes": 1_048_576, "cpuSeconds": 0.5, "endpoint": "127.0.0.1:4000" } })
        );
        assert_eq!(state["log"]["next"], 4);
        let lines: Vec<(u64, &str, &str, Value)> = state["log"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["number"].as_u64().unwrap(),
                    l["level"].as_str().unwrap(),
                    l["message"].as_str().unwrap(),
                    l["processor"].clone(),
                )
            })
            .collect();
        assert_eq!(lines, [(2, "info", "line 2", json!("file:///p/log")), (3, "warn", "runner's own", Value::Null)]);
        assert_eq!(state["run"]["state"], "running");
    }

    #[test]
    fn a_poll_gets_at_most_the_newest_lines_and_the_snapshot_keeps_a_bounded_tail() {
        let live = Live::default();
        for i in 0..(crate::live::LOG_LINES + 10) {
            live.log("js", None, Level::Info, &i.to_string());
        }
        let snapshot = live.lock();
        assert_eq!(snapshot.log.len(), crate::live::LOG_LINES);
        let state: Value = serde_json::from_str(&state_json(&snapshot, 0, &|_| (None, None))).unwrap();
        let lines = state["log"]["lines"].as_array().unwrap();
        assert_eq!(lines.len(), LOG_PER_POLL);
        assert_eq!(lines[0]["message"], (crate::live::LOG_LINES + 10 - LOG_PER_POLL).to_string());
        assert_eq!(state["log"]["next"], crate::live::LOG_LINES as u64 + 10);
    }
}
