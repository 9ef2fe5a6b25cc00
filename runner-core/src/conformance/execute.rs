//! Runs one of the kit's pipelines in this process, with the orchestrator `riffle run` uses, and keeps
//! what the checks look at: the outcome, every channel end's counters, the output, the runner processes.

use super::intruder;
use super::sketch::Sketch;
use super::target::Target;
use crate::live::Live;
use crate::names::Names;
use crate::plan::{Plan, Transport};
use crate::problem::report;
use crate::resolve::{resolve, Options, Resolution};
use crate::run::{self, Outcome, Reporter, RunOptions};
use riffle_protocol::EndStats;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How long a case may take before the kit gives up on it and kills its runners.
const CASE_TIMEOUT: Duration = Duration::from_secs(180);

pub struct Ran {
    pub outcome: Outcome,
    pub ends: BTreeMap<(String, String, String), EndStats>,
    pub plan: Plan,
    pub names: Names,
    /// What `riffle run` would have printed.
    pub lines: Vec<String>,
    /// Process ids of the runners started.
    pub pids: Vec<u32>,
    /// What the wrong-secret connections met, when asked for.
    pub intrusion: Option<Result<String, String>>,
}

impl Ran {
    /// The IRI of a processor or channel named `<name>` in the sketch.
    pub fn iri(&self, name: &str) -> String {
        format!("{}/{name}", folder_iri(&self.plan))
    }

    /// Messages and bytes at the ends of channel `channel` in `role` ("writer" or "reader"), of one
    /// processor or of all.
    pub fn counted(&self, channel: &str, role: &str, processor: Option<&str>) -> (u64, u64) {
        let (channel, processor) = (self.iri(channel), processor.map(|p| self.iri(p)));
        self.ends
            .iter()
            .filter(|((c, p, r), _)| *c == channel && r == role && processor.as_ref().is_none_or(|want| want == p))
            .fold((0, 0), |(m, b), (_, s)| (m + s.messages, b + s.bytes))
    }

    /// Microseconds the writers of `channel` waited for room, if their runner reports it.
    pub fn blocked_us(&self, channel: &str) -> Option<u64> {
        let channel = self.iri(channel);
        self.ends.iter().filter(|((c, _, r), _)| *c == channel && r == "writer").filter_map(|(_, s)| s.blocked_us).max()
    }

    /// The id of the runner instance that runs processor `<name>`.
    pub fn runner_of(&self, name: &str) -> String {
        self.plan.processor(&self.iri(name)).map(|p| p.runner.clone()).unwrap_or_default()
    }

    /// How `riffle run` shows processor `<name>` in messages.
    pub fn shown(&self, name: &str) -> String {
        self.names.iri(&self.iri(name))
    }

    /// The last lines of output, to quote in a failure.
    pub fn tail(&self) -> String {
        let start = self.lines.len().saturating_sub(8);
        self.lines[start..].iter().map(|l| format!("\n      {l}")).collect()
    }
}

/// Writes `sketch` to `dir/pipeline.ttl` and runs it over `transport`. With `intrude`, while the
/// processor `<intrude>` runs, tries to join its runner's data endpoint with a wrong secret.
pub fn execute(
    dir: &Path,
    sketch: &Sketch,
    target: &Target,
    transport: Transport,
    intrude: Option<&str>,
) -> Result<Ran, String> {
    let file = dir.join("pipeline.ttl");
    std::fs::write(&file, sketch.turtle(target)).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let Resolution { loaded, mut plan, mut problems, .. } = resolve(&file, &Options::default());
    if problems.is_empty() {
        problems.extend(plan.force_transport(transport, &loaded.names));
    }
    if !problems.is_empty() {
        return Err(format!("the pipeline does not resolve (is conformance.ttl right?):\n{}", report(&problems)));
    }
    let names = loaded.names.clone();
    drop(loaded);
    let live = Live::default();
    let options = RunOptions { live: Some(live.clone()), ..RunOptions::default() };
    let mut reporter = Reporter::capturing(names.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let watched = intrude.and_then(|name| plan.processor(&format!("{}/{name}", folder_iri(&plan))).cloned());
    let (report, intrusion) = runtime.block_on(async {
        let run = tokio::time::timeout(CASE_TIMEOUT, run::run(&plan, &options, &mut reporter));
        match watched {
            Some(processor) => {
                let (report, intrusion) = tokio::join!(run, intruder::intrude(live.clone(), processor));
                (report, Some(intrusion))
            }
            None => (run.await, None),
        }
    });
    // Dropping the runtime drops the tasks that own the runner processes, which kills any still alive.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let Ok(report) = report else {
        return Err(format!("the run did not end within {} s; its runners were killed", CASE_TIMEOUT.as_secs()));
    };
    let pids = live.lock().runner_pids.values().flatten().copied().collect();
    Ok(Ran {
        outcome: report.outcome,
        ends: report.ends,
        plan,
        names,
        lines: reporter.take_captured(),
        pids,
        intrusion,
    })
}

/// The IRI of the pipeline file's folder, against which the sketch's names resolve.
fn folder_iri(plan: &Plan) -> &str {
    plan.pipeline.as_deref().and_then(|p| p.rsplit_once('/')).map(|(folder, _)| folder).unwrap_or_default()
}
