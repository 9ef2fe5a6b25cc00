//! Riffle's control protocol, version 1: JSON messages over a WebSocket between the orchestrator
//! (`riffle run`) and each runner process. `docs/protocol.md` is the specification; the files in
//! `protocol/fixtures/` are its golden examples, replayed by every runner's tests. Unknown fields
//! are ignored (a later version may add some); an unknown `type` or a missing field is an error.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate speaks; `hello` and `welcome` carry it.
pub const VERSION: u32 = 1;

/// Environment variables a runner reads at start-up. A runner started by hand on another host
/// sets them itself.
pub mod env {
    /// `ws://HOST:PORT` of the orchestrator's control endpoint.
    pub const CONTROL_URL: &str = "RIFFLE_CONTROL_URL";
    /// The per-run secret; passed in the environment, not argv, so `ps` does not show it.
    pub const SECRET: &str = "RIFFLE_SECRET";
    /// A file whose first line is the secret, read when `RIFFLE_SECRET` is not set: what `riffle run`
    /// tells a runner started by hand to use, so that the secret itself is never printed.
    pub const SECRET_FILE: &str = "RIFFLE_SECRET_FILE";
    /// Which runner instance of the plan this process is (`javascript`, `rust-2`...).
    pub const RUNNER_ID: &str = "RIFFLE_RUNNER_ID";
    /// The address the runner's data endpoint binds, `HOST:PORT` (a host name allowed); by default the
    /// address the runner reached the orchestrator from, port 0.
    pub const DATA_LISTEN: &str = "RIFFLE_DATA_LISTEN";
    /// The address the runner announces for its data endpoint, `HOST` or `HOST:PORT` (a host name
    /// allowed; the bound port when none is given); by default the bound address, or for a wildcard
    /// bind the address the runner reached the orchestrator from. For NAT, proxies and DNS names.
    pub const DATA_ADVERTISE: &str = "RIFFLE_DATA_ADVERTISE";
    /// How long a data connection may take over its hello, in milliseconds (default 10000; tests shorten it).
    /// Every runner reads it, for its endpoint and its writers alike.
    pub const HELLO_TIMEOUT_MS: &str = "RIFFLE_HELLO_TIMEOUT_MS";
}

/// A message from a runner to the orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunnerMessage {
    /// First message on the connection.
    Hello { protocol: u32, secret: String, runner: String, language: String, pid: u32 },
    /// Where this runner's readers accept writers (TCP and WebSocket on one port).
    Listening { endpoint: String },
    /// Every writer of this runner is connected and accepted.
    Wired,
    /// Every processor of this runner has finished `init`.
    Initialised,
    /// A processor ended normally.
    Finished { processor: String },
    /// A processor failed; the run stops.
    Failed { processor: String, phase: Phase, message: String, stack: Option<String> },
    /// A log line, from a processor or (with `processor` null) from the runner itself.
    Log { processor: Option<String>, level: Level, message: String },
    /// Counters of this runner's channel ends so far: at most every 250 ms while something
    /// changed, and once more before `bye`.
    Stats { ends: Vec<EndStats> },
    /// The runner is about to exit after `stop`, or after all its processors finished.
    Bye,
}

/// A message from the orchestrator to a runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrchestratorMessage {
    /// The hello was accepted. With `heartbeat_ms`, the orchestrator pings the connection (WebSocket
    /// ping frames) several times within that many milliseconds, and the runner exits when it has heard
    /// nothing at all for that long; absent, the runner waits as long as the connection stays open.
    Welcome {
        protocol: u32,
        run: String,
        #[serde(default, rename = "heartbeatMs", skip_serializing_if = "Option::is_none")]
        heartbeat_ms: Option<u64>,
    },
    /// The hello was refused; the connection closes after this.
    Refused { reason: String },
    /// The processors this runner hosts and every channel that touches them.
    Assign { processors: Vec<ProcessorAssignment>, channels: Vec<ChannelAssignment> },
    /// Every runner's data endpoint, by runner id: where writers connect.
    Connect { endpoints: Map<String, Value> },
    /// Construct and initialise every processor.
    Init,
    /// Start every processor.
    Start,
    /// Stop: cancel what runs, close channels, say `bye`, exit.
    Stop { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorAssignment {
    pub id: String,
    pub class: String,
    /// What the runner needs to load the code: fields of its `riffle:implementationShape`.
    pub implementation: Map<String, Value>,
    /// Typed arguments; `{"@reader": id}` and `{"@writer": id}` stand for live channel ends.
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelAssignment {
    pub id: String,
    pub transport: Transport,
    /// Either may be empty: a writer nobody reads drops what it writes, a reader nobody writes to
    /// ends at once. `file` and `http` channels have exactly one end.
    pub writers: Vec<ChannelEnd>,
    pub readers: Vec<ChannelEnd>,
    /// For `file` and `http`: the end's settings, named as the connector architecture names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
    /// RDF-Connect's `rdfc:logLevel`: the writers' runners log every message at this level.
    #[serde(default, rename = "logLevel", skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEnd {
    pub processor: String,
    pub argument: String,
    /// The runner instance that hosts the processor.
    pub runner: String,
}

impl ChannelEnd {
    /// The writer id used in the data plane's hello: unique per channel for the run.
    pub fn writer_id(&self) -> String {
        format!("{}#{}", self.processor, self.argument)
    }
}

/// What one processor's end of one channel has moved so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndStats {
    pub channel: String,
    pub processor: String,
    pub role: Role,
    pub messages: u64,
    pub bytes: u64,
    /// Writer ends: microseconds spent waiting for room in a full reader (backpressure). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_us: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Memory,
    Tcp,
    #[serde(rename = "websocket")]
    WebSocket,
    /// The connector architecture's `:FileReaderChannel` / `:FileWriterChannel`: an end that reads
    /// or writes a file, hosted by its processor's runner and wired to nothing else.
    File,
    /// `:HttpReaderChannel` / `:HttpWriterChannel`: an end that serves or sends HTTP requests.
    Http,
}

impl Transport {
    /// The name used in plans, the protocol and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Memory => "memory",
            Transport::Tcp => "tcp",
            Transport::WebSocket => "websocket",
            Transport::File => "file",
            Transport::Http => "http",
        }
    }

    /// File and HTTP ends talk to the outside world, not to other ends of the run.
    pub fn is_external(self) -> bool {
        matches!(self, Transport::File | Transport::Http)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Init,
    Transform,
    Produce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Compares two secrets in time that depends only on their lengths, so that a wrong guess says
/// nothing about how close it came.
pub fn secrets_match(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "ab"));
        assert!(!secrets_match("", "a"));
    }
}
