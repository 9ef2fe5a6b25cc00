//! The reader side of the network: one listener per process serving every channel whose reader lives here.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

use crate::frame::{secret_matches, Hello, VERSION};
use crate::link::Link;
use crate::pending::{FirstByte, Pending, Slot, LISTEN_BACKLOG, MAX_PENDING_HANDSHAKES};
use crate::reader::{NetLane, Shared};
use crate::tcp::{self, TcpDecoder};
use crate::ws::{self, WsDecoder};
use crate::{inbound, keepalive, ChannelError, Limits, Reader, RunTls};

/// A listening socket that serves the readers registered on it, over TCP framing and WebSocket alike (the
/// first byte of a connection tells which: `0x00` starts a frame, `G` an HTTP upgrade).
///
/// Dropping the endpoint stops accepting new connections; connections already admitted run on until their
/// writers close or their reader is dropped.
pub struct Endpoint {
    inner: Arc<Inner>,
    local_addr: SocketAddr,
    accept: JoinHandle<()>,
}

pub(crate) struct Inner {
    secret: String,
    /// In an encrypted run, what every connection's TLS handshake presents.
    tls: Option<RunTls>,
    limits: Limits,
    readers: Mutex<HashMap<String, Weak<Shared>>>,
}

/// A writer the endpoint let in, with the lane its messages go to.
pub(crate) struct Admitted {
    pub(crate) lane: NetLane,
    pub(crate) channel: Arc<str>,
    pub(crate) writer: Arc<str>,
    pub(crate) limit: usize,
}

/// Why a hello was refused, and whether the peer may be told (only once it proved it knows the secret).
pub(crate) struct Refusal {
    pub(crate) reason: String,
    pub(crate) tell_peer: bool,
}

impl Endpoint {
    /// Listens on `addr` (port 0 picks a free port; see [`Endpoint::local_addr`]). Every writer must present
    /// `secret` in its hello. `limits` apply to every reader registered here.
    pub async fn bind(addr: SocketAddr, secret: &str, limits: Limits) -> io::Result<Endpoint> {
        Endpoint::listen(addr, secret, None, limits).await
    }

    /// [`Endpoint::bind`] for an encrypted run: every connection starts with a TLS handshake presenting the
    /// run's certificate, and both framings run inside it.
    pub async fn bind_tls(addr: SocketAddr, secret: &str, tls: RunTls, limits: Limits) -> io::Result<Endpoint> {
        Endpoint::listen(addr, secret, Some(tls), limits).await
    }

    async fn listen(addr: SocketAddr, secret: &str, tls: Option<RunTls>, limits: Limits) -> io::Result<Endpoint> {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // Thousands of writers may connect at once while the flood guard lets 256 at a time through.
        let listener = socket.listen(LISTEN_BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let inner = Arc::new(Inner { secret: secret.to_owned(), tls, limits, readers: Mutex::new(HashMap::new()) });
        let accept = tokio::spawn(accept_loop(listener, inner.clone()));
        Ok(Endpoint { inner, local_addr, accept })
    }

    /// [`Endpoint::bind`] on `127.0.0.1`, any free port.
    pub async fn bind_loopback(secret: &str, limits: Limits) -> io::Result<Endpoint> {
        Endpoint::bind((Ipv4Addr::LOCALHOST, 0).into(), secret, limits).await
    }

    /// The address actually bound, to be given to writers.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Registers the reader of `channel_id`, expecting `expected_writers` writers in all: network writers
    /// that connect here, plus in-process writers attached with
    /// [`Channel::memory_writer`](crate::Channel::memory_writer).
    ///
    /// Register before writers connect: a hello for a channel with no reader is refused.
    pub fn register_reader(&self, channel_id: &str, expected_writers: usize) -> Result<Reader, ChannelError> {
        let mut readers = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        readers.retain(|_, reader| reader.strong_count() > 0);
        if readers.contains_key(channel_id) {
            return Err(ChannelError::Setup {
                channel: channel_id.to_owned(),
                reason: "a reader for this channel is already registered on this endpoint".into(),
            });
        }
        let reader = Reader::new(channel_id, expected_writers, self.inner.limits.clone());
        readers.insert(channel_id.to_owned(), Arc::downgrade(reader.shared()));
        Ok(reader)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn admit(&self, hello: &Hello) -> Result<Admitted, Refusal> {
        if !secret_matches(self.secret.as_bytes(), hello.secret.as_bytes()) {
            return Err(Refusal {
                reason: format!(
                    "wrong secret in the hello of writer {:?} for channel {:?}",
                    hello.writer, hello.channel
                ),
                tell_peer: false,
            });
        }
        let refuse = |reason: String| Refusal { reason, tell_peer: true };
        if hello.version != VERSION {
            return Err(refuse(format!(
                "protocol version {} is not supported (this endpoint speaks {VERSION})",
                hello.version
            )));
        }
        let shared = self
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hello.channel)
            .and_then(Weak::upgrade)
            .ok_or_else(|| refuse(format!("no reader for channel {} on this endpoint", hello.channel)))?;
        let lane =
            shared.admit_net(&hello.writer).map_err(|reason| refuse(format!("channel {}: {reason}", hello.channel)))?;
        Ok(Admitted {
            lane,
            channel: shared.channel.clone(),
            writer: hello.writer.as_str().into(),
            limit: shared.limits.wire_max_message(),
        })
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    let pending = Pending::new(inner.limits.hello_timeout);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let slot = pending.admit(&stream).await;
                tokio::spawn(handle(inner.clone(), stream, peer, slot));
            }
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning on the error.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

enum Conn {
    Tcp(Link, Admitted),
    /// With what the handshake read past the hello.
    Ws(Link, BytesMut, Admitted),
}

async fn handle(inner: Arc<Inner>, stream: TcpStream, peer: SocketAddr, mut slot: Slot) {
    let _ = stream.set_nodelay(true);
    if let Some(silence) = inner.limits.link_silence {
        if let Err(e) = keepalive::watch(&stream, silence) {
            tracing::warn!(%peer, "cannot watch the connection for silence: {e}");
        }
    }
    let hello_timeout = inner.limits.hello_timeout;
    let deadline = Instant::now() + hello_timeout;
    let spoke = timeout_at(deadline, slot.first_byte(&stream)).await;
    // The slot goes before the socket while silent: the guard may look at the socket while it holds the slot.
    let outcome = match spoke {
        Err(_) => {
            drop(slot);
            Err(None)
        }
        Ok(FirstByte::Evicted) => {
            drop(slot);
            tracing::warn!(
                %peer,
                "closed a silent connection: {MAX_PENDING_HANDSHAKES} handshakes were pending and a newer one arrived"
            );
            return;
        }
        Ok(FirstByte::Spoke) => {
            let outcome = timeout_at(deadline, handshake(&inner, stream)).await;
            drop(slot);
            match outcome {
                Err(_) => Err(None),
                Ok(Err(reason)) => Err(Some(reason)),
                Ok(Ok(conn)) => Ok(conn),
            }
        }
    };
    match outcome {
        Err(None) => tracing::warn!(%peer, "refused connection: no hello within {hello_timeout:?}"),
        Err(Some(reason)) => tracing::warn!(%peer, "refused connection: {reason}"),
        Ok(Conn::Tcp(stream, admitted)) => inbound::serve(stream, peer, &[], admitted, TcpDecoder).await,
        Ok(Conn::Ws(stream, read, admitted)) => {
            inbound::serve(stream, peer, &read, admitted, WsDecoder::default()).await
        }
    }
}

async fn handshake(inner: &Inner, stream: TcpStream) -> Result<Conn, String> {
    let mut stream = match &inner.tls {
        None => Link::Plain(stream),
        Some(tls) => {
            Link::tls(tls.accept(stream).await.map_err(|e| format!("no TLS handshake (this run is encrypted): {e}"))?)
        }
    };
    let first = stream.peek_first().await.map_err(|e| format!("reading the first byte failed: {e}"))?;
    match first {
        None => Err("closed before saying anything".into()),
        // A hello frame's length is below 2^24, so its first byte is zero.
        Some(0) => {
            let admitted = tcp::handshake(inner, &mut stream).await?;
            Ok(Conn::Tcp(stream, admitted))
        }
        Some(b'G') => {
            let (stream, read, admitted) = ws::handshake(inner, stream).await?;
            Ok(Conn::Ws(stream, read, admitted))
        }
        Some(byte) => Err(format!("garbage first byte 0x{byte:02x} (neither a frame nor an HTTP upgrade)")),
    }
}
