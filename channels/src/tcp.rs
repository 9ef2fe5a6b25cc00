//! The TCP transport: length-prefixed frames (FRAMING.md). The writer's connection and socket task, the
//! reader endpoint's handshake, and the decoder its per-connection task (`inbound`) runs over TCP.

use std::io::{self, IoSlice};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Admitted, Inner, Refusal};
use crate::frame::{accept_json, control_frame, parse_accept, parse_header, Hello, Kind, HEADER_LEN, MAX_CONTROL};
use crate::inbound::{Decoder, Incoming, Parsed, Peer};
use crate::link::Link;
use crate::outbox::{Frames, TcpWire};
use crate::outgoing::Connection;
use crate::reader::Entry;
use crate::writer::{ConnectTo, Sink};
use crate::ChannelError;

/// Slices per vectored write (well under every platform's IOV_MAX).
const MAX_IOV: usize = 64;

// ---------------------------------------------------------------------------------------------------------
// Writer side

pub(crate) async fn connect(t: &ConnectTo<'_>) -> Result<(Sink, usize), ChannelError> {
    let (sink, reader_limit) = t
        .open(async {
            let mut stream = t.dial().await?;
            let hello = control_frame(Kind::Hello, t.hello().as_bytes());
            stream.write_all(&hello).await.map_err(|source| t.unreachable(source))?;
            let (kind, payload) = read_control(&mut stream).await.map_err(|reason| t.refused(reason))?;
            match Kind::from_u8(kind) {
                Some(Kind::Accept) => {
                    let limit = parse_accept(&payload).map_err(|reason| t.refused(reason))?;
                    Ok((TcpConnection { stream, probe: vec![0u8; 1024] }, limit))
                }
                Some(Kind::Refuse) => Err(t.refused(String::from_utf8_lossy(&payload).into_owned())),
                _ => Err(t.refused(format!("unexpected answer to hello (kind byte {kind})"))),
            }
        })
        .await?;
    Ok((Sink::Tcp(sink), reader_limit))
}

/// Reads one control frame, refusing anything longer than a control payload may be. On end of stream the
/// error says so, which is what a writer sees when the endpoint closes on it without a word.
async fn read_control(stream: &mut Link) -> Result<(u8, Vec<u8>), String> {
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

/// A writer's TCP connection.
struct TcpConnection {
    stream: Link,
    /// What the reader sent unasked: only a refusal or the end of the stream can come.
    probe: Vec<u8>,
}

impl Connection for TcpConnection {
    type Queue = Frames<TcpWire>;

    async fn write(&mut self, batch: &Frames<TcpWire>) -> Result<(), String> {
        write_frames(&mut self.stream, batch).await.map_err(|e| format!("writing to the reader failed: {e}"))
    }

    async fn read(&mut self) -> io::Result<usize> {
        self.stream.read(&mut self.probe).await
    }

    async fn heard(&mut self, read: io::Result<usize>) -> Result<(), String> {
        Err(describe_unexpected(read, &self.probe))
    }

    async fn finish(&mut self) -> Result<(), String> {
        finish_writer(&mut self.stream).await
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

async fn write_frames(stream: &mut Link, frames: &Frames<TcpWire>) -> io::Result<()> {
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
    stream.push().await
}

/// Sends the close frame and waits for the reader's acknowledgement, which it sends only once it has read
/// every earlier frame: so a successful close means everything reached the reader's process.
async fn finish_writer(stream: &mut Link) -> Result<(), String> {
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
pub(crate) async fn handshake(inner: &Inner, stream: &mut Link) -> Result<Admitted, String> {
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

/// Finds TCP frames (FRAMING.md) in a connection's bytes.
pub(crate) struct TcpDecoder;

impl Decoder for TcpDecoder {
    fn decode(&mut self, inc: &mut Incoming, limit: usize, peer: &Peer) -> Parsed {
        while let Some((len, kind)) = parse_header(&inc.buf[inc.parsed..]) {
            if inc.full() {
                return Parsed::BatchFull;
            }
            let len = len as usize;
            match Kind::from_u8(kind) {
                Some(Kind::Text | Kind::Bytes) => {
                    if len > limit {
                        let tell = format!("message of {len} bytes above the limit of {limit} bytes");
                        return Parsed::Failed(peer.too_large(len as u64, limit), refuse(&tell));
                    }
                    let start = inc.parsed + HEADER_LEN;
                    let end = start + len;
                    if inc.buf.len() < end {
                        // Room for the whole frame at once; `len` is within the limit.
                        inc.buf.reserve(end - inc.buf.len());
                        return Parsed::NeedMore;
                    }
                    let text = kind == Kind::Text as u8;
                    if text {
                        if let Err(e) = std::str::from_utf8(&inc.buf[start..end]) {
                            return Parsed::Failed(
                                peer.protocol(format!("text frame is not UTF-8: {e}")),
                                refuse("text frame is not UTF-8"),
                            );
                        }
                    }
                    inc.push(Entry { start, len, text });
                    inc.parsed = end;
                }
                Some(Kind::Close) if len == 0 => return Parsed::Closed(control_frame(Kind::Close, &[]).to_vec()),
                _ => {
                    return Parsed::Failed(
                        peer.protocol(format!("unexpected frame (kind byte {kind}, length {len})")),
                        refuse(&format!("unexpected frame kind {kind}")),
                    )
                }
            }
        }
        Parsed::NeedMore
    }
}

fn refuse(reason: &str) -> Vec<u8> {
    control_frame(Kind::Refuse, reason.as_bytes()).to_vec()
}
