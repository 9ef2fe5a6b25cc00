//! The parts of RFC 6455 that the WebSocket transport does itself: frame headers, masking, close payloads,
//! and reading whole control-sized messages (`upgrade` does the HTTP upgrade before them). Framing from our own
//! buffers, as the TCP transport does, lets a writer encode thousands of messages into one `write` and a
//! reader index thousands of them in one read, instead of a poll, a waker and a copy per message through
//! tungstenite's message stream, which held WebSocket channels to half the speed of a raw WebSocket link.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;

use crate::link::Link;
use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;

use crate::outbox::Wire;

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

pub(crate) const CLOSE_NORMAL: u16 = 1000;
pub(crate) const CLOSE_PROTOCOL: u16 = 1002;
pub(crate) const CLOSE_POLICY: u16 = 1008;

/// Longest possible header: two bytes, a 64-bit length and a mask key.
pub(crate) const MAX_HEADER: usize = 14;

/// One frame header as read off the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) mask: Option<[u8; 4]>,
    pub(crate) len: u64,
    /// Bytes the header itself takes.
    pub(crate) size: usize,
}

impl Header {
    pub(crate) fn is_control(&self) -> bool {
        self.opcode >= OP_CLOSE
    }
}

/// Decodes the header at the start of `buf`: `Ok(None)` while it is incomplete, `Err` for a violation that
/// no further byte could cure. Control frames are checked here (never fragmented, at most 125 bytes), so a
/// caller never buffers more than that for one.
pub(crate) fn parse_header(buf: &[u8]) -> Result<Option<Header>, String> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    if b0 & 0x70 != 0 {
        return Err("a frame has reserved bits set, but no extension was negotiated".into());
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    match opcode {
        OP_CONTINUATION | OP_TEXT | OP_BINARY => {}
        OP_CLOSE | OP_PING | OP_PONG => {
            if !fin {
                return Err(format!("a control frame (opcode {opcode}) is fragmented"));
            }
            if b1 & 0x7f > 125 {
                return Err(format!("a control frame (opcode {opcode}) is longer than 125 bytes"));
            }
        }
        _ => return Err(format!("unknown opcode {opcode}")),
    }
    let (len, mut size) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let len = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                if len >> 63 != 0 {
                    return Err("a frame length has its most significant bit set".into());
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        match buf.get(size..size + 4) {
            Some(k) => {
                size += 4;
                Some([k[0], k[1], k[2], k[3]])
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Header { fin, opcode, mask, len, size }))
}

/// Appends a final frame's header; a mask key makes it a client's (masked) frame.
pub(crate) fn put_header(buf: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    buf.push(0x80 | opcode);
    if len < 126 {
        buf.push(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        buf.push(mask_bit | 126);
        buf.extend_from_slice(&short.to_be_bytes());
    } else {
        buf.push(mask_bit | 127);
        buf.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        buf.extend_from_slice(&key);
    }
}

/// XORs `data` with the mask key, `data[0]` being at a payload offset that is a multiple of 4.
#[inline]
pub(crate) fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut words = data.chunks_exact_mut(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so its mask phase is its own index.
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// A whole final frame, masked when a key is given: for control messages and the hello and accept.
pub(crate) fn whole_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_HEADER + payload.len());
    put_header(&mut out, opcode, payload.len(), mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key);
    }
    out
}

/// A close frame's payload: the status code, then a reason cut on a character boundary to the 123 bytes
/// RFC 6455 leaves for it.
pub(crate) fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = code.to_be_bytes().to_vec();
    out.extend_from_slice(&reason.as_bytes()[..end]);
    out
}

/// Reads a close frame's payload: the status code, if any, and the reason (lossily, as it is only shown).
pub(crate) fn parse_close(payload: &[u8]) -> Result<(Option<u16>, String), String> {
    match payload {
        [] => Ok((None, String::new())),
        [_] => Err("a close frame with a one-byte payload".into()),
        [a, b, reason @ ..] => Ok((Some(u16::from_be_bytes([*a, *b])), String::from_utf8_lossy(reason).into_owned())),
    }
}

/// Mask keys for a writer's frames.
///
/// RFC 6455 asks for unpredictable keys so that a script in a browser cannot choose the bytes a proxy sees on
/// the wire. An xorshift generator seeded from std's randomly keyed hasher is unpredictable to the peer and
/// costs a few instructions per frame, where a call into the system's generator per 64-byte message would be
/// a large share of the work.
pub(crate) struct MaskKeys(u64);

impl Default for MaskKeys {
    fn default() -> Self {
        let seed = RandomState::new().build_hasher().finish();
        // xorshift never leaves zero.
        MaskKeys(seed | 1)
    }
}

impl MaskKeys {
    #[inline]
    pub(crate) fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32).to_ne_bytes()
    }
}

/// How a writer (a WebSocket client) frames its queue: masked frames, one per message.
#[derive(Default)]
pub(crate) struct ClientWire(MaskKeys);

impl Wire for ClientWire {
    #[inline]
    fn put_header(&mut self, buf: &mut Vec<u8>, text: bool, len: usize) {
        let opcode = if text { OP_TEXT } else { OP_BINARY };
        put_header(buf, opcode, len, Some(self.0.next_key()));
    }

    #[inline]
    fn put_payload(&mut self, buf: &mut Vec<u8>, payload: &[u8]) {
        let start = buf.len();
        let key = key_before(buf, start);
        buf.extend_from_slice(payload);
        apply_mask(&mut buf[start..], key);
    }
}

/// The mask key of the frame whose header ends at `offset` (a mask key is the header's last four bytes).
#[inline]
pub(crate) fn key_before(buf: &[u8], offset: usize) -> [u8; 4] {
    let k = &buf[offset - 4..offset];
    [k[0], k[1], k[2], k[3]]
}

/// A message or control frame as the cold paths (handshakes, a writer's idle watch, the close) see it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Close(Option<u16>, String),
    Ping(Vec<u8>),
    Pong,
}

/// Why [`Inbox::next`] returned no message.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer ended the stream.
    Eof,
    Io(io::Error),
    /// The peer broke RFC 6455 or the size limit.
    Protocol(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Eof => f.write_str("end of stream"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Protocol(reason) => f.write_str(reason),
        }
    }
}

/// Reads whole messages of at most `max` bytes, for the cold paths. All state lives here, not in a future,
/// so reading more bytes into `buf` may be raced against other work without losing any.
pub(crate) struct Inbox {
    pub(crate) buf: BytesMut,
    /// Frames from a client must be masked, frames from a server must not (RFC 6455, 5.1).
    from_client: bool,
    max: usize,
    /// The opcode and payload so far of a fragmented message.
    partial: Option<(u8, Vec<u8>)>,
}

impl Inbox {
    /// `buf` holds what was read already (past the HTTP upgrade).
    pub(crate) fn new(buf: BytesMut, from_client: bool, max: usize) -> Inbox {
        Inbox { buf, from_client, max, partial: None }
    }

    /// Takes the next message or control frame out of the buffer, if it has arrived whole.
    pub(crate) fn take(&mut self) -> Result<Option<Received>, ReadError> {
        loop {
            let Some(h) = parse_header(&self.buf).map_err(ReadError::Protocol)? else {
                return Ok(None);
            };
            if h.mask.is_some() != self.from_client {
                return Err(ReadError::Protocol(
                    if self.from_client { "an unmasked frame from a client" } else { "a masked frame from a server" }
                        .into(),
                ));
            }
            let so_far = match (&self.partial, h.is_control()) {
                (Some((_, data)), false) => data.len() as u64,
                _ => 0,
            };
            if so_far + h.len > self.max as u64 {
                return Err(ReadError::Protocol(format!(
                    "a message of at least {} bytes, above the limit of {} bytes",
                    so_far + h.len,
                    self.max
                )));
            }
            let total = h.size + h.len as usize;
            if self.buf.len() < total {
                self.buf.reserve(total - self.buf.len());
                return Ok(None);
            }
            self.buf.advance(h.size);
            let mut payload = self.buf.split_to(h.len as usize);
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key);
            }
            match h.opcode {
                OP_PING => return Ok(Some(Received::Ping(payload.to_vec()))),
                OP_PONG => return Ok(Some(Received::Pong)),
                OP_CLOSE => {
                    let (code, reason) = parse_close(&payload).map_err(ReadError::Protocol)?;
                    return Ok(Some(Received::Close(code, reason)));
                }
                OP_CONTINUATION => match self.partial.as_mut() {
                    Some((_, data)) => data.extend_from_slice(&payload),
                    None => return Err(ReadError::Protocol("a continuation frame with no message to continue".into())),
                },
                opcode => {
                    if self.partial.is_some() {
                        return Err(ReadError::Protocol("a new message began inside a fragmented one".into()));
                    }
                    self.partial = Some((opcode, payload.to_vec()));
                }
            }
            if h.fin {
                if let Some((opcode, data)) = self.partial.take() {
                    return Ok(Some(if opcode == OP_TEXT { Received::Text(data) } else { Received::Binary(data) }));
                }
            }
        }
    }

    /// Reads until a whole message or control frame has arrived.
    pub(crate) async fn next(&mut self, stream: &mut Link) -> Result<Received, ReadError> {
        loop {
            if let Some(received) = self.take()? {
                return Ok(received);
            }
            if stream.read_buf(&mut self.buf).await.map_err(ReadError::Io)? == 0 {
                return Err(ReadError::Eof);
            }
        }
    }

    /// Like [`Inbox::next`], answering pings on the way and passing over pongs. `mask` is the key generator
    /// of a client, which masks its pongs, or `None` for a server.
    pub(crate) async fn next_message(
        &mut self,
        stream: &mut Link,
        mut mask: Option<&mut MaskKeys>,
    ) -> Result<Received, ReadError> {
        loop {
            match self.next(stream).await? {
                Received::Ping(payload) => {
                    let key = mask.as_mut().map(|keys| keys.next_key());
                    stream.write_all(&whole_frame(OP_PONG, &payload, key)).await.map_err(ReadError::Io)?;
                }
                Received::Pong => {}
                other => return Ok(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbox_of(bytes: &[u8], from_client: bool, max: usize) -> Inbox {
        Inbox::new(BytesMut::from(bytes), from_client, max)
    }

    #[test]
    fn headers_round_trip_at_every_length_form() {
        for (len, size) in [(0usize, 2usize), (125, 2), (126, 4), (65_535, 4), (65_536, 10), (1 << 33, 10)] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let mut buf = Vec::new();
                put_header(&mut buf, OP_BINARY, len, mask);
                let size = size + if mask.is_some() { 4 } else { 0 };
                assert_eq!(buf.len(), size);
                let want = Header { fin: true, opcode: OP_BINARY, mask, len: len as u64, size };
                assert_eq!(parse_header(&buf), Ok(Some(want)));
                for cut in 0..buf.len() {
                    assert_eq!(parse_header(&buf[..cut]), Ok(None), "incomplete at {cut} of {size}");
                }
            }
        }
    }

    #[test]
    fn bad_headers_are_named() {
        let err = |b: &[u8]| parse_header(b).expect_err("must be refused");
        assert_eq!(err(&[0x82 | 0x40, 0]), "a frame has reserved bits set, but no extension was negotiated");
        assert_eq!(err(&[0x83, 0]), "unknown opcode 3");
        assert_eq!(err(&[0x09, 0]), "a control frame (opcode 9) is fragmented");
        assert_eq!(err(&[0x88, 126, 0, 126]), "a control frame (opcode 8) is longer than 125 bytes");
        assert_eq!(err(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), "a frame length has its most significant bit set");
    }

    #[test]
    fn masking_is_its_own_inverse_and_follows_the_rfc_example() {
        // RFC 6455, 5.7: "Hello" masked with 37 fa 21 3d.
        let mut hello = b"Hello".to_vec();
        apply_mask(&mut hello, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(hello, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let original: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 1000] {
            let mut data = original[..len].to_vec();
            apply_mask(&mut data, [9, 8, 7, 6]);
            let by_byte: Vec<u8> = original[..len].iter().enumerate().map(|(i, b)| b ^ [9, 8, 7, 6][i % 4]).collect();
            assert_eq!(data, by_byte, "length {len}");
            apply_mask(&mut data, [9, 8, 7, 6]);
            assert_eq!(data, &original[..len]);
        }
    }

    #[test]
    fn mask_keys_differ_from_frame_to_frame_and_writer_to_writer() {
        let mut a = MaskKeys::default();
        let mut b = MaskKeys::default();
        let keys: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| a.next_key()).collect();
        assert_eq!(keys.len(), 1000);
        assert_ne!(a.next_key(), b.next_key());
    }

    #[test]
    fn the_client_wire_masks_what_a_server_unmasks() {
        let mut wire = ClientWire::default();
        let mut buf = Vec::new();
        wire.put_header(&mut buf, true, 5);
        let at = buf.len();
        wire.put_payload(&mut buf, b"hello");
        assert_ne!(&buf[at..], b"hello");
        assert_eq!(inbox_of(&buf, true, 100).take().expect("valid"), Some(Received::Text(b"hello".to_vec())));
    }

    #[test]
    fn the_inbox_joins_fragments_and_hands_out_control_frames_between_them() {
        let key = Some([1, 2, 3, 4]);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&whole_frame(OP_TEXT, b"he", key));
        bytes[0] &= 0x7f; // not final
        bytes.extend_from_slice(&whole_frame(OP_PING, b"p", key));
        let mut last = whole_frame(OP_CONTINUATION, b"llo", key);
        bytes.append(&mut last);
        let mut inbox = inbox_of(&bytes, true, 100);
        assert_eq!(inbox.take().expect("ping"), Some(Received::Ping(b"p".to_vec())));
        assert_eq!(inbox.take().expect("text"), Some(Received::Text(b"hello".to_vec())));
        assert_eq!(inbox.take().expect("nothing"), None);
    }

    #[test]
    fn the_inbox_refuses_what_rfc_6455_and_the_limit_refuse() {
        let refusal = |bytes: Vec<u8>, from_client: bool| match inbox_of(&bytes, from_client, 10).take() {
            Err(ReadError::Protocol(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(refusal(whole_frame(OP_TEXT, b"hi", None), true), "an unmasked frame from a client");
        assert_eq!(refusal(whole_frame(OP_TEXT, b"hi", Some([1, 1, 1, 1])), false), "a masked frame from a server");
        assert_eq!(
            refusal(whole_frame(OP_TEXT, b"eleven byte", None), false),
            "a message of at least 11 bytes, above the limit of 10 bytes"
        );
        assert_eq!(
            refusal(whole_frame(OP_CONTINUATION, b"x", None), false),
            "a continuation frame with no message to continue"
        );
        let mut two_starts = whole_frame(OP_TEXT, b"a", None);
        two_starts[0] &= 0x7f;
        two_starts.extend_from_slice(&whole_frame(OP_TEXT, b"b", None));
        assert_eq!(refusal(two_starts, false), "a new message began inside a fragmented one");
        // The limit counts the fragments so far.
        let mut long = whole_frame(OP_BINARY, b"123456", None);
        long[0] &= 0x7f;
        long.extend_from_slice(&whole_frame(OP_CONTINUATION, b"7890x", None));
        assert_eq!(refusal(long, false), "a message of at least 11 bytes, above the limit of 10 bytes");
    }

    #[test]
    fn close_payloads_cut_the_reason_on_a_character_boundary() {
        let reason = "é".repeat(100);
        let payload = close_payload(CLOSE_POLICY, &reason);
        assert_eq!(payload.len(), 2 + 122);
        assert_eq!(parse_close(&payload), Ok((Some(1008), "é".repeat(61))));
        assert_eq!(parse_close(&[]), Ok((None, String::new())));
        assert!(parse_close(&[3]).is_err());
    }
}
