//! Turning `assign` and `connect` into live channel ends (`docs/protocol.md`, steps 2 and 3).
//!
//! - Every channel read here gets its readers at `assign`, before `listening`, because writers in other
//!   runners may connect as soon as the orchestrator sends `connect`. With one local reader, the reader is
//!   registered on the data endpoint (when some writer is remote) expecting every writer of the channel;
//!   local writers attach to it in memory. With several local readers (fan-out inside this runner), each has
//!   its own in-memory reader, and the remote writers' messages arrive through one endpoint reader whose
//!   messages a pump task copies to all of them, because an endpoint has one reader per channel id and
//!   remote writers connect once per runner.
//! - Every local writer is made at `connect`: a memory writer into each local reader, a network writer to
//!   each other runner that reads the channel, all joined for fan-out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use riffle_channels::{Endpoint, Limits, Transport};
use riffle_protocol::{ChannelAssignment, ProcessorAssignment, Role};
use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use crate::construct::Ends;
use crate::stats::StatsBoard;
use crate::writer::WriterBin;
use crate::{Reader, RunnerError, Writer};

/// The writer id of the pump that feeds several local readers from one endpoint reader. Real writer ids are
/// `<processor IRI>#<argument>`, so this cannot collide with one.
const FAN_OUT_ID: &str = "riffle:fan-out";

/// A writer that could not be connected: reported as the `init` failure of its processor.
#[derive(Debug)]
pub(crate) struct WireFailure {
    pub(crate) processor: String,
    pub(crate) message: String,
}

/// One local writer end, ready to connect.
pub(crate) struct WriterJob {
    processor: String,
    channel: String,
    writer_id: String,
    memory: Vec<riffle_channels::Writer>,
    /// `(transport, runner, endpoint)` of every other runner that reads the channel.
    remote: Vec<(Transport, String, String)>,
}

/// A connected local writer end.
pub(crate) struct Connected {
    processor: String,
    channel: String,
    writer: riffle_channels::Writer,
}

/// What every data connection of this runner is made with.
#[derive(Clone)]
pub(crate) struct Links {
    /// The run's secret, which every writer's hello carries.
    pub(crate) secret: Arc<str>,
    /// The run's TLS identity, in an encrypted run.
    pub(crate) tls: Option<riffle_channels::RunTls>,
    /// The channel limits, the heartbeat deadline among them.
    pub(crate) limits: Limits,
}

/// This runner's share of the run's channels.
pub(crate) struct Wiring {
    me: String,
    endpoint: Endpoint,
    channels: Vec<ChannelAssignment>,
    /// Handles on this runner's readers, by channel id: where local writers attach.
    local_readers: HashMap<String, Vec<riffle_channels::Channel>>,
    ends: HashMap<String, Ends>,
    bins: HashMap<String, Arc<WriterBin>>,
    stats: StatsBoard,
    pumps: Vec<JoinHandle<()>>,
}

impl Wiring {
    /// Binds the data endpoint and makes every local reader (`assign`).
    pub(crate) async fn listen(
        me: &str,
        links: &Links,
        listen: SocketAddr,
        processors: &[ProcessorAssignment],
        channels: Vec<ChannelAssignment>,
        stats: StatsBoard,
    ) -> Result<Wiring, RunnerError> {
        let (secret, limits) = (&links.secret, links.limits.clone());
        let endpoint = match links.tls.clone() {
            None => Endpoint::bind(listen, secret, limits).await,
            Some(tls) => Endpoint::bind_tls(listen, secret, tls, limits).await,
        }
        .map_err(|source| RunnerError::Listen { addr: listen.to_string(), source })?;
        let mut wiring = Wiring {
            me: me.to_owned(),
            endpoint,
            channels: Vec::new(),
            local_readers: HashMap::new(),
            ends: processors.iter().map(|p| (p.id.clone(), Ends::new(&p.id))).collect(),
            bins: HashMap::new(),
            stats,
            pumps: Vec::new(),
        };
        if let Some(external) = channels.iter().find(|c| c.transport.is_external()) {
            return Err(RunnerError::Protocol(format!(
                "assign: channel {} is a {} end, which the Rust runner does not host",
                external.id,
                external.transport.as_str()
            )));
        }
        for channel in &channels {
            wiring.make_readers(channel).map_err(|e| RunnerError::Protocol(format!("assign: {e}")))?;
        }
        wiring.channels = channels;
        Ok(wiring)
    }

    fn make_readers(&mut self, channel: &ChannelAssignment) -> Result<(), riffle_channels::ChannelError> {
        let local: Vec<_> = channel.readers.iter().filter(|end| end.runner == self.me).collect();
        if local.is_empty() {
            return Ok(());
        }
        let remote_writers = channel.writers.iter().filter(|end| end.runner != self.me || networked(channel)).count();
        let local_writers = channel.writers.len() - remote_writers;
        let mut readers = Vec::with_capacity(local.len());
        if local.len() == 1 {
            readers.push(if remote_writers > 0 {
                self.endpoint.register_reader(&channel.id, channel.writers.len())?
            } else {
                riffle_channels::Reader::new(&channel.id, local_writers, limits(None))
            });
        } else {
            let fed = usize::from(remote_writers > 0);
            for _ in &local {
                readers.push(riffle_channels::Reader::new(&channel.id, local_writers + fed, limits(None)));
            }
            if remote_writers > 0 {
                let from = self.endpoint.register_reader(&channel.id, remote_writers)?;
                let mut to: Option<riffle_channels::Writer> = None;
                for reader in &readers {
                    let writer = reader.channel().memory_writer(FAN_OUT_ID)?;
                    to = Some(match to {
                        Some(to) => to.join(writer),
                        None => writer,
                    });
                }
                if let Some(to) = to {
                    self.pumps.push(tokio::spawn(pump(from, to)));
                }
            }
        }
        let mut handles = Vec::with_capacity(readers.len());
        for (end, reader) in local.into_iter().zip(readers) {
            handles.push(reader.channel());
            let counters = self.stats.register(&channel.id, &end.processor, Role::Reader);
            self.ends
                .entry(end.processor.clone())
                .or_insert_with(|| Ends::new(&end.processor))
                .add_reader(&channel.id, Reader::new(reader, counters));
        }
        self.local_readers.insert(channel.id.clone(), handles);
        Ok(())
    }

    /// The address the data endpoint is bound to (`address::announced` says what peers are told).
    pub(crate) fn endpoint(&self) -> SocketAddr {
        self.endpoint.local_addr()
    }

    /// Makes the in-memory half of every local writer and says where the rest must connect (`connect`).
    pub(crate) fn writer_jobs(&self, endpoints: &Map<String, Value>) -> Result<Vec<WriterJob>, WireFailure> {
        let mut jobs = Vec::new();
        for channel in &self.channels {
            let transport = match channel.transport {
                // A channel whose ends span runners cannot be in memory; the plan never asks for it, and TCP
                // is what it would have chosen.
                riffle_protocol::Transport::Memory | riffle_protocol::Transport::Tcp => Transport::Tcp,
                riffle_protocol::Transport::WebSocket => Transport::WebSocket,
                // Refused at assign (`Wiring::listen`): the plan only gives them to runners that declare them.
                riffle_protocol::Transport::File | riffle_protocol::Transport::Http => continue,
            };
            let mut remote_runners: Vec<&str> = Vec::new();
            for end in &channel.readers {
                if (end.runner != self.me || networked(channel)) && !remote_runners.contains(&end.runner.as_str()) {
                    remote_runners.push(&end.runner);
                }
            }
            for end in channel.writers.iter().filter(|end| end.runner == self.me) {
                let fail = |message: String| WireFailure { processor: end.processor.clone(), message };
                let writer_id = end.writer_id();
                let mut memory = Vec::new();
                let in_memory = if networked(channel) { None } else { self.local_readers.get(&channel.id) };
                for reader in in_memory.into_iter().flatten() {
                    memory.push(reader.memory_writer(&writer_id).map_err(|e| fail(e.to_string()))?);
                }
                let mut remote = Vec::new();
                for runner in &remote_runners {
                    let addr = endpoints.get(*runner).and_then(Value::as_str).ok_or_else(|| {
                        fail(format!(
                            "channel {}: connect gave no endpoint for runner {runner}, which reads it",
                            channel.id
                        ))
                    })?;
                    remote.push((transport, runner.to_string(), addr.to_owned()));
                }
                jobs.push(WriterJob {
                    processor: end.processor.clone(),
                    channel: channel.id.clone(),
                    writer_id,
                    memory,
                    remote,
                });
            }
        }
        Ok(jobs)
    }

    /// Keeps the connected writers for the processors' construction.
    pub(crate) fn install(&mut self, connected: Vec<Connected>) {
        for Connected { processor, channel, writer } in connected {
            let counters = self.stats.register(&channel, &processor, Role::Writer);
            let bin = self.bins.entry(processor.clone()).or_default().clone();
            let level = self
                .channels
                .iter()
                .find(|c| c.id == channel)
                .and_then(|c| c.log_level.as_deref())
                .and_then(|l| serde_json::from_value(serde_json::Value::String(l.to_string())).ok());
            self.ends
                .entry(processor.clone())
                .or_insert_with(|| Ends::new(&processor))
                .add_writer(&channel, Writer::new(writer, counters, bin).logging_at(level));
        }
    }

    /// A processor's ends, and where its unclosed writers go when it ends.
    pub(crate) fn take(&mut self, processor: &str) -> (Ends, Arc<WriterBin>) {
        let ends = self.ends.remove(processor).unwrap_or_else(|| Ends::new(processor));
        let bin = self.bins.entry(processor.to_owned()).or_default().clone();
        (ends, bin)
    }
}

impl Drop for Wiring {
    fn drop(&mut self) {
        for pump in &self.pumps {
            pump.abort();
        }
    }
}

/// A channel the plan puts on TCP or WebSocket goes over the network even between processors of this
/// runner (through its own endpoint), so that `riffle run --transport` tests that transport whatever the
/// pipeline's layout.
fn networked(channel: &ChannelAssignment) -> bool {
    channel.transport != riffle_protocol::Transport::Memory
}

/// Connects every job's network writers (all jobs at once) and joins each with its memory writers.
pub(crate) async fn connect_all(jobs: Vec<WriterJob>, links: Links) -> Result<Vec<Connected>, WireFailure> {
    let connecting = jobs.into_iter().map(|job| connect_one(job, &links));
    futures_util::future::try_join_all(connecting).await
}

async fn connect_one(job: WriterJob, links: &Links) -> Result<Connected, WireFailure> {
    let Links { secret, tls, limits } = links;
    let WriterJob { processor, channel, writer_id, memory, remote } = job;
    let fail = |message: String| WireFailure { processor: processor.clone(), message };
    let mut joined: Option<riffle_channels::Writer> = None;
    let mut add = |writer: riffle_channels::Writer| {
        joined = Some(match joined.take() {
            Some(joined) => joined.join(writer),
            None => writer,
        });
    };
    for writer in memory {
        add(writer);
    }
    for (transport, runner, endpoint) in remote {
        let addr = crate::address::resolve(&endpoint)
            .await
            .map_err(|e| fail(format!("channel {channel}: endpoint {endpoint} of runner {runner}: {e}")))?;
        let writer = match tls {
            None => riffle_channels::Writer::connect(transport, addr, secret, &channel, &writer_id, limits).await,
            Some(tls) => {
                riffle_channels::Writer::connect_tls(transport, addr, secret, tls, &channel, &writer_id, limits).await
            }
        }
        .map_err(|e| fail(format!("{e} (runner {runner})")))?;
        add(writer);
    }
    match joined {
        Some(writer) => Ok(Connected { processor, channel, writer }),
        None => {
            let writer = riffle_channels::Writer::to_nobody(&channel, &writer_id, limits);
            Ok(Connected { processor, channel, writer })
        }
    }
}

/// Copies the remote writers' messages to every local reader of a channel read more than once here.
async fn pump(mut from: riffle_channels::Reader, mut to: riffle_channels::Writer) {
    while let Some(item) = from.recv().await {
        match item {
            Ok(message) => {
                if let Err(e) = to.send(message).await {
                    tracing::error!("fan-out of channel {}: {e}", from.id());
                    return;
                }
            }
            // The writer counts as ended; memory lanes cannot carry the error on, so it is logged.
            Err(e) => tracing::error!("{e}"),
        }
    }
    if let Err(e) = to.close().await {
        tracing::error!("fan-out of channel {}: {e}", from.id());
    }
}

/// The channel limits: the hello timeout from `RIFFLE_HELLO_TIMEOUT_MS` if set, and data connections that
/// fail once their peer has been silent for the run's heartbeat deadline (`welcome`'s), if it has one.
pub(crate) fn limits(link_silence: Option<std::time::Duration>) -> Limits {
    let hello_timeout = std::env::var(riffle_protocol::env::HELLO_TIMEOUT_MS)
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(std::time::Duration::from_millis);
    let defaults = Limits::default();
    Limits { hello_timeout: hello_timeout.unwrap_or(defaults.hello_timeout), link_silence, ..defaults }
}
