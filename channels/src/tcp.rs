//! The TCP transport: length-prefixed frames (FRAMING.md), both the writer's socket task and the reader
//! endpoint's per-connection task.

use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;

use crate::endpoint::{Admitted, Inner, Refusal};
use crate::frame::{
    accept_json, control_frame, parse_accept, parse_header, Hello, Kind, HEADER_LEN, MAX_CONTROL, VERSION,
};
use crate::outbox::{Frames, Outbox, Queue};
use crate::reader::{Entry, FrameBatch, Item, NetLane};
use crate::writer::{ConnectTo, NetSink, Sink};
use crate::ChannelError;

/// Read buffer growth step. Large, because a read syscall costs far more than the bytes it moves.
const READ_CHUNK: usize = 256 * 1024;
/// Below this much free space the read buffer is grown before the next read.
const MIN_READ_SPACE: usize = 32 * 1024;
/// A batch handed to the reader is closed at this many payload bytes or messages.
pub(crate) const BATCH_BYTES: usize = 256 * 1024;
pub(crate) const BATCH_MESSAGES: usize = 4096;
/// The socket task waits for the sender to queue this much (see `Outbox::linger`) before writing.
const LINGER_UNTIL: usize = 128 * 1024;
/// Slices per vectored write (well under every platform's IOV_MAX).
const MAX_IOV: usize = 64;

// ---------------------------------------------------------------------------------------------------------
// Writer side

pub(crate) async fn connect(t: &ConnectTo<'_>) -> Result<(Sink, usize), ChannelError> {
    let channel: Arc<str> = t.channel.into();
    let refused =
        |reason: String| ChannelError::Refused { channel: t.channel.to_owned(), writer: t.writer.to_owned(), reason };
    let handshake = async {
        let mut stream = TcpStream::connect(t.addr).await.map_err(|source| connect_error(t, source))?;
        // Batching is done by the outbox; Nagle would only delay the last batch before an idle period.
        let _ = stream.set_nodelay(true);
        let hello = Hello {
            version: VERSION,
            secret: t.secret.to_owned(),
            channel: t.channel.to_owned(),
            writer: t.writer.to_owned(),
        };
        stream
            .write_all(&control_frame(Kind::Hello, hello.to_json().as_bytes()))
            .await
            .map_err(|source| connect_error(t, source))?;
        let (kind, payload) = read_control(&mut stream).await.map_err(refused)?;
        match Kind::from_u8(kind) {
            Some(Kind::Accept) => {
                let limit = parse_accept(&payload).map_err(refused)?;
                Ok((stream, limit))
            }
            Some(Kind::Refuse) => Err(refused(String::from_utf8_lossy(&payload).into_owned())),
            _ => Err(refused(format!("unexpected answer to hello (kind byte {kind})"))),
        }
    };
    let (stream, reader_limit) = timeout(t.limits.hello_timeout, handshake)
        .await
        .map_err(|_| refused(format!("no answer to the hello within {:?}", t.limits.hello_timeout)))??;
    let outbox = Arc::new(Outbox::new(t.limits.writer_buffer));
    let task = tokio::spawn(write_loop(stream, outbox.clone(), channel.clone()));
    Ok((Sink::Tcp(NetSink::new(channel, outbox, task)), reader_limit))
}

fn connect_error(t: &ConnectTo<'_>, source: io::Error) -> ChannelError {
    ChannelError::Connect { channel: t.channel.to_owned(), addr: t.addr.to_string(), source }
}

/// Reads one control frame, refusing anything longer than a control payload may be. On end of stream the
/// error says so, which is what a writer sees when the endpoint closes on it without a word.
async fn read_control(stream: &mut TcpStream) -> Result<(u8, Vec<u8>), String> {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).await.map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            "the endpoint closed the connection without an answer".to_owned()
        } else {
            format!("reading the answer failed: {e}")
        }
    })?;
    let (len, kind) = parse_header(&head).ok_or("short header")?;
    if len as usize > MAX_CONTROL {
        return Err(format!("control frame declares {len} bytes, above {MAX_CONTROL}"));
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload).await.map_err(|e| format!("reading the answer failed: {e}"))?;
    Ok((kind, payload))
}

async fn write_loop(mut stream: TcpStream, outbox: Arc<Outbox<Frames>>, channel: Arc<str>) -> Result<(), ChannelError> {
    let result = drive_writer(&mut stream, &outbox).await;
    if let Err(reason) = &result {
        outbox.fail(reason.clone());
    }
    result.map_err(|reason| ChannelError::ReaderVanished { channel: channel.to_string(), reason })
}

async fn drive_writer(stream: &mut TcpStream, outbox: &Outbox<Frames>) -> Result<(), String> {
    let mut batch = Frames::default();
    let mut probe = vec![0u8; 1024];
    loop {
        outbox.linger(LINGER_UNTIL).await;
        let taken = outbox.take(&mut batch);
        if batch.is_empty() {
            if taken.closing {
                return finish_writer(stream).await;
            }
            if outbox.linger_idle().await {
                continue;
            }
            // Idle. The reader says nothing before our close, so anything readable now (end of stream, a
            // reset, a refuse frame) means it went away: notice that now rather than at the next send.
            let heard = tokio::select! {
                _ = outbox.work() => None,
                r = stream.read(&mut probe) => Some(r),
            };
            if let Some(r) = heard {
                return Err(describe_unexpected(r, &probe));
            }
            continue;
        }
        write_frames(stream, &batch).await.map_err(|e| format!("writing to the reader failed: {e}"))?;
        batch.clear();
    }
}

fn describe_unexpected(read: io::Result<usize>, probe: &[u8]) -> String {
    match read {
        Ok(0) => "the reader closed the connection".to_owned(),
        Ok(n) => match parse_header(&probe[..n]) {
            Some((_, kind)) if kind == Kind::Refuse as u8 => {
                format!("the reader closed the connection: {}", String::from_utf8_lossy(&probe[HEADER_LEN..n]))
            }
            _ => "the reader sent unexpected data".to_owned(),
        },
        Err(e) => format!("connection to the reader failed: {e}"),
    }
}

async fn write_frames(stream: &mut TcpStream, frames: &Frames) -> io::Result<()> {
    if frames.big.is_empty() {
        return stream.write_all(&frames.buf).await;
    }
    // Header and big payload go out in one vectored write, so no tiny segment precedes each payload.
    let mut slices = Vec::with_capacity(frames.big.len() * 2 + 1);
    let mut start = 0;
    for (offset, payload) in &frames.big {
        slices.push(IoSlice::new(&frames.buf[start..*offset]));
        slices.push(IoSlice::new(payload));
        start = *offset;
    }
    slices.push(IoSlice::new(&frames.buf[start..]));
    let mut rest = slices.as_mut_slice();
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        let n = stream.write_vectored(&rest[..rest.len().min(MAX_IOV)]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// Sends the close frame and waits for the reader's acknowledgement, which it sends only once it has read
/// every earlier frame: so a successful close means everything reached the reader's process.
async fn finish_writer(stream: &mut TcpStream) -> Result<(), String> {
    stream
        .write_all(&control_frame(Kind::Close, &[]))
        .await
        .map_err(|e| format!("sending the close frame failed: {e}"))?;
    let (kind, payload) = read_control(stream).await.map_err(|e| format!("no acknowledgement of the close ({e})"))?;
    match Kind::from_u8(kind) {
        Some(Kind::Close) => Ok(()),
        Some(Kind::Refuse) => Err(format!("the reader closed the connection: {}", String::from_utf8_lossy(&payload))),
        _ => Err(format!("unexpected answer to close (kind byte {kind})")),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reader side

/// Reads exactly the hello frame and answers it. Reading exactly (not a buffer's worth) means no data frame is
/// consumed before the writer is admitted.
pub(crate) async fn handshake(inner: &Inner, stream: &mut TcpStream) -> Result<Admitted, String> {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).await.map_err(|e| format!("no complete hello: {e}"))?;
    let (len, kind) = parse_header(&head).ok_or("short header")?;
    if kind != Kind::Hello as u8 {
        return Err(format!("first frame is not a hello (kind byte {kind}, declared length {len})"));
    }
    if len as usize > MAX_CONTROL {
        return Err(format!("hello declares {len} bytes, above the {MAX_CONTROL}-byte limit for a hello"));
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload).await.map_err(|e| format!("no complete hello: {e}"))?;
    let hello = Hello::parse(&payload)?;
    match inner.admit(&hello) {
        Ok(admitted) => {
            let accept = control_frame(Kind::Accept, accept_json(admitted.limit).as_bytes());
            stream.write_all(&accept).await.map_err(|e| format!("sending the accept failed: {e}"))?;
            Ok(admitted)
        }
        Err(Refusal { reason, tell_peer }) => {
            if tell_peer {
                let _ = stream.write_all(&control_frame(Kind::Refuse, reason.as_bytes())).await;
            }
            Err(reason)
        }
    }
}

/// Serves one admitted writer: frames in, batches out to the reader's lane, until close, error or the reader
/// going away.
///
/// While the lane is full the connection keeps reading into the current batch until that batch is full, so the
/// reader-side bound is in bytes (lane depth times batch size), not in how the bytes happened to arrive.
pub(crate) async fn serve(mut stream: TcpStream, admitted: Admitted) {
    let Admitted { lane, channel, writer, limit } = admitted;
    let mut conn = Conn {
        lane,
        channel,
        writer,
        buf: BytesMut::with_capacity(BATCH_BYTES + READ_CHUNK),
        parsed: 0,
        index: Vec::new(),
        batch_bytes: 0,
    };
    loop {
        match conn.parse(limit) {
            Parsed::NeedMore => {}
            Parsed::BatchFull => {
                if conn.flush().await.is_err() {
                    return;
                }
                continue;
            }
            Parsed::Closed => {
                // Acknowledge first: every frame has been read, so the writer may go. Waiting for the reading
                // processor to make room would make a writer's close hang on a busy reader for no gain.
                let _ = stream.write_all(&control_frame(Kind::Close, &[])).await;
                drop(stream);
                let _ = conn.flush().await;
                return;
            }
            Parsed::Failed(err, tell) => {
                tracing::warn!(channel = %conn.channel, writer = %conn.writer, "closing connection: {err}");
                let _ = stream.write_all(&control_frame(Kind::Refuse, tell.as_bytes())).await;
                conn.fail(err).await;
                return;
            }
        }
        if conn.buf.capacity() - conn.buf.len() < MIN_READ_SPACE {
            // Hand the batch over before regrowing, so the regrow copies at most a partial frame rather
            // than the whole batch.
            if conn.flush().await.is_err() {
                return;
            }
            conn.buf.reserve(BATCH_BYTES + READ_CHUNK);
        }
        let event = if conn.index.is_empty() {
            tokio::select! {
                r = stream.read_buf(&mut conn.buf) => Event::Read(r),
                _ = conn.lane.closed() => return,
            }
        } else {
            // Reading first: while bytes keep arriving the batch grows; it goes out when the socket runs dry.
            tokio::select! {
                biased;
                r = stream.read_buf(&mut conn.buf) => Event::Read(r),
                permit = conn.lane.room(conn.batch_bytes) => Event::Room(permit),
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
                let err = conn.vanished("end of stream without a close frame".into());
                conn.fail(err).await;
                return;
            }
            Event::Read(Ok(_)) => {}
            Event::Read(Err(e)) => {
                let err = conn.vanished(e.to_string());
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

enum Parsed {
    NeedMore,
    BatchFull,
    Closed,
    /// The error for the reader, and the reason told to the writer.
    Failed(ChannelError, String),
}

struct Conn {
    lane: NetLane,
    channel: Arc<str>,
    writer: Arc<str>,
    buf: BytesMut,
    /// `buf[..parsed]` holds the complete frames of the current batch, indexed by `index`.
    parsed: usize,
    index: Vec<Entry>,
    batch_bytes: usize,
}

impl Conn {
    /// Indexes every complete frame in the buffer. Nothing is split or copied here: the batch's frames go to
    /// the reader as one shared chunk plus this index, and the reader slices messages out of it on its own
    /// thread, so the chunk's reference count is not bounced between threads once per message.
    fn parse(&mut self, limit: usize) -> Parsed {
        while let Some((len, kind)) = parse_header(&self.buf[self.parsed..]) {
            if self.batch_bytes >= BATCH_BYTES || self.index.len() >= BATCH_MESSAGES {
                return Parsed::BatchFull;
            }
            let len = len as usize;
            match Kind::from_u8(kind) {
                Some(Kind::Text | Kind::Bytes) => {
                    if len > limit {
                        return Parsed::Failed(
                            ChannelError::FrameTooLarge {
                                channel: self.channel.to_string(),
                                writer: self.writer.to_string(),
                                declared: len as u64,
                                limit,
                            },
                            format!("message of {len} bytes above the limit of {limit} bytes"),
                        );
                    }
                    let start = self.parsed + HEADER_LEN;
                    let end = start + len;
                    if self.buf.len() < end {
                        // Room for the whole frame at once; `len` is within the limit.
                        self.buf.reserve(end - self.buf.len());
                        return Parsed::NeedMore;
                    }
                    let text = kind == Kind::Text as u8;
                    if text {
                        if let Err(e) = std::str::from_utf8(&self.buf[start..end]) {
                            return Parsed::Failed(
                                self.protocol(format!("text frame is not UTF-8: {e}")),
                                "text frame is not UTF-8".into(),
                            );
                        }
                    }
                    self.index.push(Entry { start, len, text });
                    self.parsed = end;
                    self.batch_bytes += len + 32;
                }
                Some(Kind::Close) if len == 0 => return Parsed::Closed,
                _ => {
                    return Parsed::Failed(
                        self.protocol(format!("unexpected frame (kind byte {kind}, length {len})")),
                        format!("unexpected frame kind {kind}"),
                    )
                }
            }
        }
        Parsed::NeedMore
    }

    /// Hands the current batch to the reader, waiting for room.
    async fn flush(&mut self) -> Result<(), ()> {
        if self.index.is_empty() {
            return Ok(());
        }
        let permit = self.lane.room(self.batch_bytes).await.ok_or(())?;
        self.send_batch(permit).await
    }

    async fn send_batch(&mut self, budget: OwnedSemaphorePermit) -> Result<(), ()> {
        if self.index.is_empty() {
            return Ok(());
        }
        let data = self.buf.split_to(self.parsed).freeze();
        self.parsed = 0;
        self.batch_bytes = 0;
        let index = std::mem::take(&mut self.index);
        self.lane.send(Item::Frames(FrameBatch { data, index, budget })).await
    }

    /// Delivers what arrived intact, then the error; the lane ends when `self` drops.
    async fn fail(mut self, err: ChannelError) {
        if self.flush().await.is_ok() {
            let _ = self.lane.send(Item::Failed(Box::new(err))).await;
        }
    }

    fn vanished(&self, reason: String) -> ChannelError {
        ChannelError::WriterVanished { channel: self.channel.to_string(), writer: self.writer.to_string(), reason }
    }

    fn protocol(&self, reason: String) -> ChannelError {
        ChannelError::Protocol { channel: self.channel.to_string(), peer: format!("writer {}", self.writer), reason }
    }
}
