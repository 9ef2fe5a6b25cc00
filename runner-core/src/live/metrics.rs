//! Prometheus text exposition (format 0.0.4) of the same snapshot, at `/metrics`, labelled by IRI.

use super::{process, Snapshot};
use crate::run::orchestrator::ProcessorState;
use std::fmt::Write;

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let channels = snapshot.channels();
    let per_channel = |value: &dyn Fn(&super::ChannelFigures) -> Option<String>| {
        channels
            .iter()
            .filter_map(|(id, f)| Some((format!("channel=\"{}\"", label(id)), value(f)?)))
            .collect::<Vec<_>>()
    };
    family(
        "riffle_channel_messages_total",
        "counter",
        "Messages through the channel so far.",
        per_channel(&|f| Some(f.messages.to_string())),
    );
    family(
        "riffle_channel_bytes_total",
        "counter",
        "Payload bytes through the channel so far.",
        per_channel(&|f| Some(f.bytes.to_string())),
    );
    family(
        "riffle_channel_queued_messages",
        "gauge",
        "Messages written to the channel and not yet read by its slowest reader.",
        per_channel(&|f| Some(f.queued.to_string())),
    );
    family(
        "riffle_channel_blocked_seconds_total",
        "counter",
        "Time the channel's writers waited for room in a full reader (backpressure).",
        per_channel(&|f| f.blocked_seconds.map(|s| format!("{s:.6}"))),
    );
    family(
        "riffle_channel_messages_per_second",
        "gauge",
        "Messages a second through the channel over the last second.",
        per_channel(&|f| Some(format!("{:.1}", f.messages_per_second))),
    );
    let states = [
        ProcessorState::Waiting,
        ProcessorState::Initialising,
        ProcessorState::Running,
        ProcessorState::Finished,
        ProcessorState::Failed,
        ProcessorState::Stopped,
    ];
    family(
        "riffle_processor_state",
        "gauge",
        "1 for the state the processor is in, 0 for the others.",
        snapshot
            .processors
            .iter()
            .flat_map(|p| {
                states.iter().map(move |s| {
                    let value = if *s == p.state { "1" } else { "0" };
                    (format!("processor=\"{}\",state=\"{}\"", label(&p.id), s.as_str()), value.to_string())
                })
            })
            .collect(),
    );
    let runners: Vec<(&String, u32)> = snapshot.runner_pids.iter().filter_map(|(r, p)| Some((r, (*p)?))).collect();
    family(
        "riffle_runner_resident_bytes",
        "gauge",
        "Resident memory of the runner's process.",
        runners
            .iter()
            .filter_map(|(r, pid)| {
                Some((format!("runner=\"{}\"", label(r)), process::resident_bytes(*pid)?.to_string()))
            })
            .collect(),
    );
    family(
        "riffle_runner_cpu_seconds_total",
        "counter",
        "User and system CPU time of the runner's process.",
        runners
            .iter()
            .filter_map(|(r, pid)| {
                Some((format!("runner=\"{}\"", label(r)), format!("{:.2}", process::cpu_seconds(*pid)?)))
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("file:///a \"b\"\\c\nd"), "file:///a \\\"b\\\"\\\\c\\nd");
    }
}
