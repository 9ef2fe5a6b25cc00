//! The resolved plan: plain data with no RDF in it, what `riffle plan` prints and what the
//! orchestrator runs. Processor arguments are JSON; a reader or writer argument is the object
//! `{"@reader": "<channel id>"}` or `{"@writer": "<channel id>"}`, which each runner replaces
//! with a live reader or writer.

use crate::names::Names;
use crate::problem::{Problem, ProblemKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The rdfc:Pipeline resolved, if the file has one (connector-architecture files do not).
    pub pipeline: Option<String>,
    /// The pipeline file.
    pub source: String,
    /// Runners start here, so relative paths in arguments mean what the pipeline's author sees.
    pub working_dir: String,
    pub runners: Vec<RunnerInstance>,
    pub processors: Vec<Processor>,
    pub channels: Vec<Channel>,
}

/// One process of a runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerInstance {
    /// Unique in the plan: the runner's language, with `-2`, `-3`... for further instances.
    pub id: String,
    /// The runner's IRI.
    pub runner: String,
    pub label: Option<String>,
    pub argv: Vec<String>,
    /// argv[0] as found on PATH; None when it was not found (a validation problem).
    pub program: Option<String>,
    /// Ids of the processors it runs.
    pub processors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processor {
    /// The processor's IRI (or `_:label` for a blank node).
    pub id: String,
    /// For a blank node, how messages name it: its class, file and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub class: String,
    /// Id of the runner instance that runs it.
    pub runner: String,
    /// What the runner needs to load its code (file, class, function, jar...).
    pub implementation: Map<String, Value>,
    pub arguments: Map<String, Value>,
}

/// How a channel carries messages; the same type the control protocol sends to runners.
pub use riffle_protocol::Transport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub transport: Transport,
    /// True when its ends run on more than one runner instance.
    pub crosses_runners: bool,
    pub writers: Vec<End>,
    pub readers: Vec<End>,
    /// For `file` and `http` ends: their settings, as the runner receives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
    /// RDF-Connect's `rdfc:logLevel`: every message is logged at this level.
    #[serde(default, rename = "logLevel", skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// A processor argument that is an end of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub processor: String,
    /// The argument's field, dotted for nested ones (`config.input`).
    pub argument: String,
}

impl Plan {
    pub fn processor(&self, id: &str) -> Option<&Processor> {
        self.processors.iter().find(|p| p.id == id)
    }

    /// One line: what `riffle validate` prints for a good pipeline.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut runners: Vec<&str> = self.runners.iter().map(|r| r.id.as_str()).collect();
        runners.sort();
        format!(
            "ok: {}, {}, {} ({})",
            plural(self.processors.len(), "processor"),
            plural(self.channels.len(), "channel"),
            plural(self.runners.len(), "runner instance"),
            runners.join(", ")
        )
    }

    /// Carries every channel over `transport`, whatever the pipeline says (`riffle run --transport`).
    /// Memory cannot join runner instances: each channel that would need it is a problem.
    pub fn force_transport(&mut self, transport: Transport, names: &Names) -> Vec<Problem> {
        let runner_of: std::collections::HashMap<&str, &str> =
            self.processors.iter().map(|p| (p.id.as_str(), p.runner.as_str())).collect();
        let mut problems = Vec::new();
        for channel in self.channels.iter_mut().filter(|c| !c.transport.is_external()) {
            if transport == Transport::Memory && channel.crosses_runners {
                let mut runners: Vec<&str> = channel
                    .writers
                    .iter()
                    .chain(&channel.readers)
                    .filter_map(|e| runner_of.get(e.processor.as_str()).copied())
                    .collect();
                runners.sort();
                runners.dedup();
                let shown = names.iri(&channel.id);
                problems.push(
                    Problem::new(ProblemKind::MemoryAcrossRunners {
                        channel: shown.clone(),
                        count: runners.len(),
                        runners: runners.join(", "),
                    })
                    .subject(shown),
                );
            }
            channel.transport = transport;
        }
        problems
    }
}
