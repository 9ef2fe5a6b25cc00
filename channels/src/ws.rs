//! The WebSocket transport (FRAMING.md, "WebSocket mapping"): one channel message per WebSocket message,
//! text as text and bytes as binary, the hello and accept as text messages, close as a close frame.
//!
//! Both sides do the HTTP upgrade (`upgrade`) and frame the connection (`wsframe`) themselves, from their own
//! buffers, as the TCP transport does.

use std::io;

use bytes::BytesMut;

use crate::endpoint::{Admitted, Inner, Refusal};
use crate::frame::{accept_json, parse_accept, Hello, MAX_CONTROL};
use crate::inbound::{Decoder, Incoming, Parsed, Peer};
use crate::link::Link;
use crate::outbox::Frames;
use crate::outgoing::Connection;
use crate::reader::Entry;
use crate::upgrade;
use crate::writer::{ConnectTo, Sink};
use crate::wsframe::{
    apply_mask, close_payload, key_before, parse_header, whole_frame, ClientWire, Inbox, MaskKeys, ReadError, Received,
    CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
};
use crate::ChannelError;

/// Big payloads are masked into a scratch buffer of this size on their way to the socket. A multiple of 4,
/// so every chunk starts at mask phase 0.
const MASK_CHUNK: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Writer side

pub(crate) async fn connect(t: &ConnectTo<'_>) -> Result<(Sink, usize), ChannelError> {
    let (sink, reader_limit) = t
        .open(async {
            let mut stream = t.dial().await?;
            let read = upgrade::request(&mut stream, &t.addr.to_string())
                .await
                .map_err(|e| t.refused(format!("WebSocket upgrade failed: {e}")))?;
            let mut keys = MaskKeys::default();
            stream
                .write_all(&whole_frame(OP_TEXT, t.hello().as_bytes(), Some(keys.next_key())))
                .await
                .map_err(|e| t.refused(format!("sending the hello failed: {e}")))?;
            // The writer only ever receives control-sized messages (accept, close).
            let mut inbox = Inbox::new(read, false, MAX_CONTROL);
            match inbox.next_message(&mut stream, Some(&mut keys)).await {
                Ok(Received::Text(accept)) => {
                    let limit = parse_accept(&accept).map_err(|reason| t.refused(reason))?;
                    Ok((WsConnection { stream, inbox, keys, scratch: Vec::new() }, limit))
                }
                Ok(Received::Close(_, reason)) if !reason.is_empty() => Err(t.refused(reason)),
                Ok(Received::Close(..)) | Err(ReadError::Eof) => {
                    Err(t.refused("the endpoint closed the connection without an answer".into()))
                }
                Ok(_) => Err(t.refused("unexpected answer to the hello".into())),
                Err(e) => Err(t.refused(format!("reading the answer failed: {e}"))),
            }
        })
        .await?;
    Ok((Sink::Ws(sink), reader_limit))
}

/// A writer's WebSocket connection: the stream, what it has read of the reader's frames, its mask keys for
/// the frames it sends outside the queue (pongs, the close), and where big payloads are masked.
struct WsConnection {
    stream: Link,
    inbox: Inbox,
    keys: MaskKeys,
    scratch: Vec<u8>,
}

impl WsConnection {
    async fn send_control(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        self.stream.write_all(&whole_frame(opcode, payload, Some(self.keys.next_key()))).await
    }
}

impl Connection for WsConnection {
    type Queue = Frames<ClientWire>;

    async fn write(&mut self, batch: &Frames<ClientWire>) -> Result<(), String> {
        write_frames(&mut self.stream, batch, &mut self.scratch).await.map_err(write_failed)?;
        // A writer that never runs out of messages still answers pings. Free unless the socket was reported
        // readable: tokio only makes the syscall then.
        match self.stream.try_read_buf(&mut self.inbox.buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            read => self.heard(read).await,
        }
    }

    async fn read(&mut self) -> io::Result<usize> {
        // Into the inbox's buffer, which keeps what arrived when the read is dropped.
        tokio::io::AsyncReadExt::read_buf(&mut self.stream, &mut self.inbox.buf).await
    }

    async fn heard(&mut self, read: io::Result<usize>) -> Result<(), String> {
        match read {
            Ok(0) => return Err("the reader closed the connection".into()),
            Err(e) => return Err(format!("connection to the reader failed: {e}")),
            Ok(_) => {}
        }
        loop {
            match self.inbox.take() {
                Ok(None) => return Ok(()),
                Ok(Some(Received::Ping(payload))) => {
                    self.send_control(OP_PONG, &payload).await.map_err(write_failed)?;
                }
                Ok(Some(Received::Pong)) => {}
                Ok(Some(Received::Close(_, reason))) if !reason.is_empty() => {
                    return Err(format!("the reader closed the connection: {reason}"))
                }
                Ok(Some(Received::Close(..))) => return Err("the reader closed the connection".into()),
                Ok(Some(_)) => return Err("the reader sent an unexpected message".into()),
                Err(e) => return Err(format!("connection to the reader failed: {e}")),
            }
        }
    }

    /// Sends a normal close frame and waits for the reader's close frame.
    async fn finish(&mut self) -> Result<(), String> {
        self.send_control(OP_CLOSE, &close_payload(CLOSE_NORMAL, ""))
            .await
            .map_err(|e| format!("sending the close frame failed: {e}"))?;
        loop {
            match self.inbox.next_message(&mut self.stream, Some(&mut self.keys)).await {
                Ok(Received::Close(Some(code), reason)) if code != CLOSE_NORMAL => {
                    return Err(format!("the reader closed the connection: {reason}"))
                }
                Ok(Received::Close(..)) => return Ok(()),
                Ok(_) => continue,
                Err(ReadError::Eof) => return Err("no acknowledgement of the close (end of stream)".to_owned()),
                Err(e) => return Err(format!("no acknowledgement of the close ({e})")),
            }
        }
    }
}

fn write_failed(e: io::Error) -> String {
    format!("writing to the reader failed: {e}")
}

/// Writes a batch. Small messages are already framed and masked in `frames.buf`; big payloads are masked
/// here, a chunk at a time, so a huge message never needs a second copy of itself in memory.
async fn write_frames(stream: &mut Link, frames: &Frames<ClientWire>, scratch: &mut Vec<u8>) -> io::Result<()> {
    if frames.big.is_empty() {
        return stream.write_all(&frames.buf).await;
    }
    scratch.clear();
    let mut start = 0;
    for (offset, payload) in &frames.big {
        scratch.extend_from_slice(&frames.buf[start..*offset]);
        let key = key_before(&frames.buf, *offset);
        for chunk in payload.chunks(MASK_CHUNK) {
            let at = scratch.len();
            scratch.extend_from_slice(chunk);
            apply_mask(&mut scratch[at..], key);
            if scratch.len() >= MASK_CHUNK {
                stream.write_all(scratch).await?;
                scratch.clear();
            }
        }
        start = *offset;
    }
    scratch.extend_from_slice(&frames.buf[start..]);
    stream.write_all(scratch).await?;
    scratch.clear();
    if scratch.capacity() > 2 * MASK_CHUNK {
        scratch.shrink_to(2 * MASK_CHUNK);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reader side

/// Upgrades, reads the hello text message and answers it. Returns the stream and whatever was read past the
/// hello.
pub(crate) async fn handshake(inner: &Inner, mut stream: Link) -> Result<(Link, BytesMut, Admitted), String> {
    let read = upgrade::accept(&mut stream).await?;
    // Until the writer is admitted it may only send control-sized messages.
    let mut inbox = Inbox::new(read, true, MAX_CONTROL);
    let hello = match inbox.next_message(&mut stream, None).await {
        Ok(Received::Text(text)) => Hello::parse(&text)?,
        Ok(Received::Close(..)) | Err(ReadError::Eof) => return Err("closed before its hello".into()),
        Ok(_) => return Err("first WebSocket message is not a text hello".into()),
        Err(e) => return Err(format!("no valid hello: {e}")),
    };
    match inner.admit(&hello) {
        Ok(admitted) => {
            stream
                .write_all(&whole_frame(OP_TEXT, accept_json(admitted.limit).as_bytes(), None))
                .await
                .map_err(|e| format!("sending the accept failed: {e}"))?;
            Ok((stream, inbox.buf, admitted))
        }
        Err(Refusal { reason, tell_peer }) => {
            let told = if tell_peer { reason.as_str() } else { "refused" };
            let _ = stream.write_all(&whole_frame(OP_CLOSE, &close_payload(CLOSE_POLICY, told), None)).await;
            Err(reason)
        }
    }
}

/// Finds WebSocket messages in an admitted writer's bytes. Payloads are unmasked in place. The fragments of
/// a fragmented message are moved together, each right after the one before, so that the whole message lies
/// in one slice of the buffer like any other.
#[derive(Default)]
pub(crate) struct WsDecoder {
    /// The fragmented message being read: its kind, where its payload starts and how long it is so far.
    open: Option<Fragmented>,
    /// Pongs owed to the writer.
    replies: Vec<u8>,
}

struct Fragmented {
    text: bool,
    start: usize,
    len: usize,
}

impl WsDecoder {
    /// Hands out a complete message after checking that text is UTF-8.
    fn complete(inc: &mut Incoming, entry: Entry, peer: &Peer) -> Option<Parsed> {
        if entry.text {
            if let Err(e) = std::str::from_utf8(&inc.buf[entry.start..entry.start + entry.len]) {
                let err = peer.protocol(format!("text message is not UTF-8: {e}"));
                return Some(refuse(err, CLOSE_POLICY, "text message is not UTF-8"));
            }
        }
        inc.push(entry);
        None
    }
}

fn refuse(err: ChannelError, code: u16, told: &str) -> Parsed {
    Parsed::Failed(err, whole_frame(OP_CLOSE, &close_payload(code, told), None))
}

fn broken(peer: &Peer, reason: String) -> Parsed {
    let told = reason.clone();
    refuse(peer.protocol(reason), CLOSE_PROTOCOL, &told)
}

impl Decoder for WsDecoder {
    fn decode(&mut self, inc: &mut Incoming, limit: usize, peer: &Peer) -> Parsed {
        loop {
            if inc.full() {
                return Parsed::BatchFull;
            }
            let h = match parse_header(&inc.buf[inc.parsed..]) {
                Ok(Some(h)) => h,
                Ok(None) => return Parsed::NeedMore,
                Err(reason) => return broken(peer, reason),
            };
            let Some(key) = h.mask else {
                return broken(peer, "an unmasked frame (a client must mask every frame)".into());
            };
            if !h.is_control() {
                let so_far = match (&self.open, h.opcode) {
                    (Some(open), OP_CONTINUATION) => open.len as u64,
                    _ => 0,
                };
                let declared = so_far + h.len;
                if declared > limit as u64 {
                    let told = format!("message of {declared} bytes above the limit of {limit} bytes");
                    return refuse(peer.too_large(declared, limit), CLOSE_POLICY, &told);
                }
            }
            let start = inc.parsed + h.size;
            // Within the limit (or 125 bytes for a control frame), so this fits in memory.
            let len = h.len as usize;
            let end = start + len;
            if inc.buf.len() < end {
                // Room for the whole frame at once.
                inc.buf.reserve(end - inc.buf.len());
                return Parsed::NeedMore;
            }
            apply_mask(&mut inc.buf[start..end], key);
            inc.parsed = end;
            match h.opcode {
                OP_TEXT | OP_BINARY => {
                    if self.open.is_some() {
                        return broken(peer, "a new message began inside a fragmented one".into());
                    }
                    let text = h.opcode == OP_TEXT;
                    if !h.fin {
                        self.open = Some(Fragmented { text, start, len });
                    } else if let Some(failed) = Self::complete(inc, Entry { start, len, text }, peer) {
                        return failed;
                    }
                }
                OP_CONTINUATION => {
                    let Some(open) = self.open.as_mut() else {
                        return broken(peer, "a continuation frame with no message to continue".into());
                    };
                    inc.buf.copy_within(start..end, open.start + open.len);
                    open.len += len;
                    if h.fin {
                        let Fragmented { text, start, len } = self.open.take().expect("open");
                        if let Some(failed) = Self::complete(inc, Entry { start, len, text }, peer) {
                            return failed;
                        }
                    }
                }
                OP_PING => self.replies.extend_from_slice(&whole_frame(OP_PONG, &inc.buf[start..end], None)),
                OP_PONG => {}
                // Any close frame ends the writer's messages; the acknowledgement is a normal close.
                OP_CLOSE => return Parsed::Closed(whole_frame(OP_CLOSE, &close_payload(CLOSE_NORMAL, ""), None)),
                _ => unreachable!("parse_header refuses unknown opcodes"),
            }
        }
    }

    fn cut(&self, parsed: usize) -> usize {
        self.open.as_ref().map_or(parsed, |open| open.start)
    }

    fn shift(&mut self, n: usize) {
        if let Some(open) = self.open.as_mut() {
            open.start -= n;
        }
    }

    fn replies(&mut self) -> Option<Vec<u8>> {
        (!self.replies.is_empty()).then(|| std::mem::take(&mut self.replies))
    }
}
