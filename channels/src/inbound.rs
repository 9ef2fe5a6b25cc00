//! One admitted writer's connection at the reader's endpoint, for both network transports: bytes in, batches
//! of messages out to the reader's lane, until close, error or the reader going away. What differs between
//! TCP and WebSocket is only how messages are found in the bytes: a [`Decoder`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::link::Link;
use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::sync::OwnedSemaphorePermit;

use crate::endpoint::Admitted;
use crate::reader::{Entry, FrameBatch, Item, NetLane};
use crate::{keepalive, ChannelError};

/// Read buffer growth step. Large, because a read syscall costs far more than the bytes it moves.
const READ_CHUNK: usize = 256 * 1024;
/// Below this much free space the read buffer is grown before the next read.
const MIN_READ_SPACE: usize = 32 * 1024;
/// A batch handed to the reader is closed at this many payload bytes or messages.
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_MESSAGES: usize = 4096;
/// Bookkeeping charged per message on top of its payload, so that a flood of empty messages fills a batch.
const PER_MESSAGE_COST: usize = 32;

/// The bytes read from one connection and the batch of complete messages indexed in them.
pub(crate) struct Incoming {
    pub(crate) buf: BytesMut,
    /// How far the decoder has consumed `buf`.
    pub(crate) parsed: usize,
    index: Vec<Entry>,
    batch_bytes: usize,
}

impl Incoming {
    /// Adds a complete message at `buf[start..start + len]` to the batch.
    #[inline]
    pub(crate) fn push(&mut self, entry: Entry) {
        self.batch_bytes += entry.len + PER_MESSAGE_COST;
        self.index.push(entry);
    }

    #[inline]
    pub(crate) fn full(&self) -> bool {
        self.batch_bytes >= BATCH_BYTES || self.index.len() >= BATCH_MESSAGES
    }
}

/// Who is on the other end, for errors.
pub(crate) struct Peer {
    pub(crate) channel: Arc<str>,
    pub(crate) writer: Arc<str>,
}

impl Peer {
    pub(crate) fn protocol(&self, reason: String) -> ChannelError {
        ChannelError::Protocol { channel: self.channel.to_string(), peer: format!("writer {}", self.writer), reason }
    }

    pub(crate) fn too_large(&self, declared: u64, limit: usize) -> ChannelError {
        ChannelError::FrameTooLarge {
            channel: self.channel.to_string(),
            writer: self.writer.to_string(),
            declared,
            limit,
        }
    }

    fn vanished(&self, reason: String) -> ChannelError {
        ChannelError::WriterVanished { channel: self.channel.to_string(), writer: self.writer.to_string(), reason }
    }
}

pub(crate) enum Parsed {
    /// Every complete message is indexed; the rest needs more bytes.
    NeedMore,
    BatchFull,
    /// The writer closed properly; the bytes are the acknowledgement to send it.
    Closed(Vec<u8>),
    /// The error for the reader, and the bytes that tell the writer (may be empty).
    Failed(ChannelError, Vec<u8>),
}

/// Finds messages in a connection's bytes.
pub(crate) trait Decoder: Send {
    /// Indexes every complete message in `inc.buf[inc.parsed..]` into the batch. Nothing is copied: the
    /// batch goes to the reader as one shared chunk plus its index, and the reader slices the messages out on
    /// its own thread, so the chunk's reference count is not bounced between threads once per message.
    fn decode(&mut self, inc: &mut Incoming, limit: usize, peer: &Peer) -> Parsed;

    /// Where the batch may be cut: the bytes from here on belong to a message that is not complete yet.
    fn cut(&self, parsed: usize) -> usize {
        parsed
    }

    /// The first `n` bytes of the buffer went to the reader.
    fn shift(&mut self, _n: usize) {}

    /// Bytes the protocol owes the writer now (WebSocket's pongs).
    fn replies(&mut self) -> Option<Vec<u8>> {
        None
    }
}

/// Serves one admitted writer; `early` holds whatever the handshake read past the hello.
///
/// While the lane is full the connection keeps reading into the current batch until that batch is full, so the
/// reader-side bound is in bytes (lane depth times batch size), not in how the bytes happened to arrive.
pub(crate) async fn serve<D: Decoder>(
    mut stream: Link,
    from: SocketAddr,
    early: &[u8],
    admitted: Admitted,
    decoder: D,
) {
    let Admitted { lane, channel, writer, limit } = admitted;
    // Made at its full size, not grown: `BytesMut` remembers a buffer's first capacity and sizes the
    // buffers that replace it by that.
    let mut buf = BytesMut::with_capacity(BATCH_BYTES + READ_CHUNK + early.len());
    buf.extend_from_slice(early);
    let mut conn = Conn {
        lane,
        peer: Peer { channel, writer },
        inc: Incoming { buf, parsed: 0, index: Vec::new(), batch_bytes: 0 },
        decoder,
    };
    loop {
        let parsed = conn.decoder.decode(&mut conn.inc, limit, &conn.peer);
        if let Some(replies) = conn.decoder.replies() {
            // A failed write shows up as a failed read next.
            let _ = stream.write_all(&replies).await;
        }
        match parsed {
            Parsed::NeedMore => {}
            Parsed::BatchFull => {
                if conn.flush().await.is_err() {
                    return;
                }
                continue;
            }
            Parsed::Closed(ack) => {
                // Acknowledge first: every message has been read, so the writer may go. Waiting for the reading
                // processor to make room would make a writer's close hang on a busy reader for no gain.
                let _ = stream.write_all(&ack).await;
                drop(stream);
                let _ = conn.flush().await;
                return;
            }
            Parsed::Failed(err, tell) => {
                tracing::warn!(channel = %conn.peer.channel, writer = %conn.peer.writer, "closing connection: {err}");
                if !tell.is_empty() {
                    let _ = stream.write_all(&tell).await;
                }
                conn.fail(err).await;
                return;
            }
        }
        let inc = &mut conn.inc;
        if inc.buf.capacity() - inc.buf.len() < MIN_READ_SPACE {
            // Hand the batch over before regrowing, so the regrow copies at most a partial message rather
            // than the whole batch.
            if conn.flush().await.is_err() {
                return;
            }
            conn.inc.buf.reserve(BATCH_BYTES + READ_CHUNK);
        }
        let event = if conn.inc.index.is_empty() {
            tokio::select! {
                r = stream.read_buf(&mut conn.inc.buf) => Event::Read(r),
                _ = conn.lane.closed() => return,
            }
        } else {
            // Reading first: while bytes keep arriving the batch grows; it goes out when the socket runs dry.
            tokio::select! {
                biased;
                r = stream.read_buf(&mut conn.inc.buf) => Event::Read(r),
                permit = conn.lane.room(conn.inc.batch_bytes) => Event::Room(permit),
            }
        };
        match event {
            Event::Room(None) => return,
            Event::Room(Some(permit)) => {
                if conn.send_batch(permit).await.is_err() {
                    return;
                }
            }
            Event::Read(Ok(0)) => {
                let err = conn.peer.vanished("end of stream without a close frame".into());
                conn.fail(err).await;
                return;
            }
            Event::Read(Ok(_)) => {}
            Event::Read(Err(e)) => {
                let err = conn.peer.vanished(keepalive::reason(&e, from.ip()));
                conn.fail(err).await;
                return;
            }
        }
    }
}

enum Event {
    Read(io::Result<usize>),
    /// The lane has room for the batch (with its share of the budget), or the reader is gone.
    Room(Option<OwnedSemaphorePermit>),
}

struct Conn<D> {
    lane: NetLane,
    peer: Peer,
    inc: Incoming,
    decoder: D,
}

impl<D: Decoder> Conn<D> {
    /// Hands the current batch to the reader, waiting for room.
    async fn flush(&mut self) -> Result<(), ()> {
        if self.inc.index.is_empty() {
            return Ok(());
        }
        let permit = self.lane.room(self.inc.batch_bytes).await.ok_or(())?;
        self.send_batch(permit).await
    }

    async fn send_batch(&mut self, budget: OwnedSemaphorePermit) -> Result<(), ()> {
        if self.inc.index.is_empty() {
            return Ok(());
        }
        let cut = self.decoder.cut(self.inc.parsed);
        let data = self.inc.buf.split_to(cut).freeze();
        self.inc.parsed -= cut;
        self.decoder.shift(cut);
        self.inc.batch_bytes = 0;
        let index = std::mem::take(&mut self.inc.index);
        self.lane.send(Item::Frames(FrameBatch { data, index, budget })).await
    }

    /// Delivers what arrived intact, then the error; the lane ends when `self` drops.
    async fn fail(mut self, err: ChannelError) {
        if self.flush().await.is_ok() {
            let _ = self.lane.send(Item::Failed(Box::new(err))).await;
        }
    }
}
