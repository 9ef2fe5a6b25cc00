//! The sending end of a channel, whatever transports its readers use.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::frame::{Hello, VERSION};
use crate::link::Link;
use crate::outgoing::{write_loop, Connection};

use crate::memory::MemorySink;
use crate::outbox::{Frames, Full, Outbox, Queue, TcpWire};
use crate::wsframe::ClientWire;
use crate::{keepalive, tcp, ws, ChannelError, Limits, Message, RunTls};

/// How a writer reaches a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Same process: a bounded queue, no copy, no serialisation.
    Memory,
    /// Length-prefixed frames over TCP.
    Tcp,
    /// WebSocket messages over TCP.
    WebSocket,
}

async fn timed<T>(total: &mut Duration, wait: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let result = wait.await;
    *total += started.elapsed();
    result
}

/// The sending end of a channel.
///
/// One `Writer` may feed several readers (fan-out, see [`Writer::join`]), each over its own transport; every
/// message goes to every reader, in order. `send` waits while any reader's buffer is full, so a slow reader
/// slows the writer down instead of growing memory.
pub struct Writer {
    channel: Arc<str>,
    id: Arc<str>,
    sinks: Vec<Sink>,
    limit: usize,
    /// Time spent in `send` waiting for a full reader: only the slow path reads the clock.
    blocked: Duration,
}

pub(crate) enum Sink {
    Memory(MemorySink),
    Tcp(NetSink<Frames<TcpWire>>),
    Ws(NetSink<Frames<ClientWire>>),
}

impl Sink {
    /// Sends without waiting if the reader has room; gives the message back if it has not.
    #[inline]
    fn try_send(&mut self, msg: Message) -> Result<Option<Message>, ChannelError> {
        match self {
            Sink::Tcp(sink) => sink.try_send(msg),
            Sink::Ws(sink) => sink.try_send(msg),
            Sink::Memory(sink) => match sink.try_send(msg) {
                Ok(()) => Ok(None),
                Err(Some(msg)) => Ok(Some(msg)),
                Err(None) => Err(sink.vanished()),
            },
        }
    }

    #[inline]
    async fn send(&mut self, msg: Message) -> Result<(), ChannelError> {
        match self {
            Sink::Memory(s) => s.send(msg).await,
            Sink::Tcp(s) => s.send(msg).await,
            Sink::Ws(s) => s.send(msg).await,
        }
    }

    async fn close(self) -> Result<(), ChannelError> {
        match self {
            // Dropping the lane's sender is the close: the reader sees the lane end after its last message.
            Sink::Memory(s) => s.close(),
            Sink::Tcp(s) => s.close().await,
            Sink::Ws(s) => s.close().await,
        }
    }
}

impl Writer {
    pub(crate) fn from_sink(channel: Arc<str>, id: Arc<str>, sink: Sink, limit: usize) -> Writer {
        Writer { channel, id, sinks: vec![sink], limit, blocked: Duration::ZERO }
    }

    /// A writer of a channel nobody reads: every message is accepted (up to `limits`) and dropped, as
    /// RDF-Connect does with an output the pipeline leaves unconnected.
    pub fn to_nobody(channel_id: &str, writer_id: &str, limits: &Limits) -> Writer {
        Writer {
            channel: channel_id.into(),
            id: writer_id.into(),
            sinks: Vec::new(),
            limit: limits.max_message,
            blocked: Duration::ZERO,
        }
    }

    /// Connects to the reader endpoint at `addr` and introduces itself as writer `writer_id` of `channel_id`,
    /// proving with `secret` that it belongs to the run. Returns once the endpoint accepted it.
    ///
    /// The effective message limit is the smaller of `limits.max_message` and the reader's own.
    /// [`Transport::Memory`] is refused here: in-process writers come from
    /// [`Channel::memory_writer`](crate::Channel::memory_writer).
    pub async fn connect(
        transport: Transport,
        addr: SocketAddr,
        secret: &str,
        channel_id: &str,
        writer_id: &str,
        limits: &Limits,
    ) -> Result<Writer, ChannelError> {
        Writer::open(transport, ConnectTo { addr, secret, channel: channel_id, writer: writer_id, limits, tls: None })
            .await
    }

    /// [`Writer::connect`] in an encrypted run: over TLS, to an endpoint that must present the run's
    /// certificate, so the hello and its secret never travel in clear.
    pub async fn connect_tls(
        transport: Transport,
        addr: SocketAddr,
        secret: &str,
        tls: &RunTls,
        channel_id: &str,
        writer_id: &str,
        limits: &Limits,
    ) -> Result<Writer, ChannelError> {
        let target = ConnectTo { addr, secret, channel: channel_id, writer: writer_id, limits, tls: Some(tls) };
        Writer::open(transport, target).await
    }

    async fn open(transport: Transport, target: ConnectTo<'_>) -> Result<Writer, ChannelError> {
        let ConnectTo { channel: channel_id, writer: writer_id, limits, .. } = target;
        let (sink, reader_limit) = match transport {
            Transport::Tcp => tcp::connect(&target).await?,
            Transport::WebSocket => ws::connect(&target).await?,
            Transport::Memory => {
                return Err(ChannelError::Setup {
                    channel: channel_id.to_owned(),
                    reason: "memory writers are made with Channel::memory_writer, not connected".into(),
                })
            }
        };
        Ok(Writer::from_sink(channel_id.into(), writer_id.into(), sink, limits.wire_max_message().min(reader_limit)))
    }

    /// Fan-out: one writer that sends every message to the readers of both `self` and `other`.
    ///
    /// The message limit becomes the smaller of the two. Errors name the channel of the reader concerned.
    pub fn join(mut self, mut other: Writer) -> Writer {
        self.limit = self.limit.min(other.limit);
        self.blocked += other.blocked;
        self.sinks.append(&mut other.sinks);
        self
    }

    /// The channel id.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// This writer's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The largest message this writer will send.
    pub fn max_message(&self) -> usize {
        self.limit
    }

    /// Sends a message to every reader, waiting while any of them is full.
    ///
    /// A message above the limit is refused before any reader sees it. After an error the writer should be
    /// dropped: a reader may have got the message while another did not.
    pub async fn send(&mut self, msg: Message) -> Result<(), ChannelError> {
        self.check_size(&msg)?;
        // The common case, readers with room in their queues, completes without awaiting a future.
        match self.sinks.as_mut_slice() {
            [rest @ .., last] => {
                for sink in rest {
                    if let Some(msg) = sink.try_send(msg.clone())? {
                        timed(&mut self.blocked, sink.send(msg)).await?;
                    }
                }
                match last.try_send(msg)? {
                    Some(msg) => timed(&mut self.blocked, last.send(msg)).await,
                    None => Ok(()),
                }
            }
            [] => Ok(()),
        }
    }

    /// Sends without waiting when the writer has one reader and that reader has room: `Ok(None)` then. The
    /// message comes back, unsent, when the reader is full or there are several readers; pass it to
    /// [`Writer::send`]. Lets a caller skip building `send`'s future in the common case, which at small
    /// message sizes costs as much as the rest of the send.
    #[inline]
    pub fn try_send(&mut self, msg: Message) -> Result<Option<Message>, ChannelError> {
        self.check_size(&msg)?;
        match self.sinks.as_mut_slice() {
            [only] => only.try_send(msg),
            [] => Ok(None),
            _ => Ok(Some(msg)),
        }
    }

    #[inline]
    fn check_size(&self, msg: &Message) -> Result<(), ChannelError> {
        if msg.len() > self.limit {
            return Err(ChannelError::MessageTooLarge {
                channel: self.channel.to_string(),
                size: msg.len(),
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// How long `send` has waited for room in a full reader so far (backpressure).
    pub fn blocked(&self) -> Duration {
        self.blocked
    }

    /// Closes the writer: every reader gets everything sent so far, then sees this writer end.
    ///
    /// For network readers this returns once the reader's endpoint acknowledged the close, which it does after
    /// reading every earlier message, so an `Ok` means the data reached the reader's process; a reader that
    /// vanished makes it fail. It does not wait for the reading processor to consume the messages, but like
    /// `send` it does wait while the reader's bounded buffer is full (more than about 1 MiB outstanding). Every sink is closed even if one fails; the
    /// first error is returned.
    pub async fn close(self) -> Result<(), ChannelError> {
        let mut first = Ok(());
        for sink in self.sinks {
            let result = sink.close().await;
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("channel", &self.channel)
            .field("id", &self.id)
            .field("readers", &self.sinks.len())
            .field("max_message", &self.limit)
            .finish()
    }
}

/// Where and as whom a network writer connects.
pub(crate) struct ConnectTo<'a> {
    pub(crate) addr: SocketAddr,
    pub(crate) secret: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) writer: &'a str,
    pub(crate) limits: &'a Limits,
    /// In an encrypted run: the peer must present the run's certificate.
    pub(crate) tls: Option<&'a RunTls>,
}

impl ConnectTo<'_> {
    /// The TCP connection both network transports start from. Batching is done by the outbox; Nagle would
    /// only delay the last batch before an idle period.
    pub(crate) async fn dial(&self) -> Result<Link, ChannelError> {
        let stream = TcpStream::connect(self.addr).await.map_err(|source| self.unreachable(source))?;
        let _ = stream.set_nodelay(true);
        if let Some(silence) = self.limits.link_silence {
            keepalive::watch(&stream, silence).map_err(|source| self.unreachable(source))?;
        }
        match self.tls {
            None => Ok(Link::Plain(stream)),
            Some(tls) => {
                Ok(Link::tls(tls.connect(stream, self.addr).await.map_err(|source| self.unreachable(source))?))
            }
        }
    }

    pub(crate) fn unreachable(&self, source: io::Error) -> ChannelError {
        ChannelError::Connect { channel: self.channel.to_owned(), addr: self.addr.to_string(), source }
    }

    pub(crate) fn refused(&self, reason: String) -> ChannelError {
        ChannelError::Refused { channel: self.channel.to_owned(), writer: self.writer.to_owned(), reason }
    }

    /// The hello this writer introduces itself with, as JSON.
    pub(crate) fn hello(&self) -> String {
        let hello = Hello {
            version: VERSION,
            secret: self.secret.to_owned(),
            channel: self.channel.to_owned(),
            writer: self.writer.to_owned(),
        };
        hello.to_json()
    }

    /// Runs a transport's `handshake` (to the reader's accept: the connection and the reader's message
    /// limit) within the hello timeout, then starts the connection's socket task.
    pub(crate) async fn open<C: Connection>(
        &self,
        handshake: impl Future<Output = Result<(C, usize), ChannelError>>,
    ) -> Result<(NetSink<C::Queue>, usize), ChannelError> {
        let wait = self.limits.hello_timeout;
        let (connection, reader_limit) = timeout(wait, handshake)
            .await
            .map_err(|_| self.refused(format!("no answer to the hello within {wait:?}")))??;
        let channel: Arc<str> = self.channel.into();
        let outbox = Arc::new(Outbox::new(self.limits.writer_buffer));
        let task = tokio::spawn(write_loop(connection, outbox.clone(), channel.clone()));
        Ok((NetSink::new(channel, outbox, task), reader_limit))
    }
}

/// A network sink: an [`Outbox`] drained by a task that owns the socket.
pub(crate) struct NetSink<Q> {
    channel: Arc<str>,
    outbox: Arc<Outbox<Q>>,
    task: Option<JoinHandle<Result<(), ChannelError>>>,
}

impl<Q: Queue> NetSink<Q> {
    pub(crate) fn new(channel: Arc<str>, outbox: Arc<Outbox<Q>>, task: JoinHandle<Result<(), ChannelError>>) -> Self {
        NetSink { channel, outbox, task: Some(task) }
    }

    #[inline]
    fn try_send(&mut self, msg: Message) -> Result<Option<Message>, ChannelError> {
        match self.outbox.try_push(msg) {
            Ok(()) => Ok(None),
            Err(Full::Yes(msg)) => Ok(Some(msg)),
            Err(Full::Failed(reason)) => Err(self.vanished(reason)),
        }
    }

    #[inline]
    async fn send(&mut self, msg: Message) -> Result<(), ChannelError> {
        self.outbox.push(msg).await.map_err(|reason| self.vanished(reason))
    }

    fn vanished(&self, reason: String) -> ChannelError {
        ChannelError::ReaderVanished { channel: self.channel.to_string(), reason }
    }

    async fn close(mut self) -> Result<(), ChannelError> {
        self.outbox.close();
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| {
                Err(ChannelError::ReaderVanished {
                    channel: self.channel.to_string(),
                    reason: format!("the connection task ended abnormally: {e}"),
                })
            }),
            None => Ok(()),
        }
    }
}

impl<Q> Drop for NetSink<Q> {
    fn drop(&mut self) {
        // Dropped without close: cut the connection without a close frame so the reader reports this writer
        // as vanished instead of waiting for it forever.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
