//! The TCP wire format (see FRAMING.md, which is the normative description) and the handshake payloads that
//! both network transports share.

use bytes::{BufMut, BytesMut};
use serde_json::{json, Value};

/// Protocol version carried in the hello and the accept.
pub(crate) const VERSION: u64 = 1;
/// `u32` big-endian payload length, then one kind byte.
pub(crate) const HEADER_LEN: usize = 5;
/// Hello, accept and refuse payloads are small; capping them means an unauthenticated peer can never make the
/// endpoint allocate more than this.
pub(crate) const MAX_CONTROL: usize = 64 * 1024;

/// Frame kinds. The numbering is part of the wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    Hello = 1,
    Accept = 2,
    Refuse = 3,
    Text = 4,
    Bytes = 5,
    Close = 6,
}

impl Kind {
    pub(crate) fn from_u8(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Hello,
            2 => Kind::Accept,
            3 => Kind::Refuse,
            4 => Kind::Text,
            5 => Kind::Bytes,
            6 => Kind::Close,
            _ => return None,
        })
    }
}

/// Appends a frame header.
#[inline]
pub(crate) fn put_header(buf: &mut Vec<u8>, kind: Kind, len: u32) {
    let len = len.to_be_bytes();
    buf.extend_from_slice(&[len[0], len[1], len[2], len[3], kind as u8]);
}

/// Decodes a header: (payload length, raw kind byte). `head` must hold at least [`HEADER_LEN`] bytes.
#[inline]
pub(crate) fn parse_header(head: &[u8]) -> Option<(u32, u8)> {
    match head {
        [a, b, c, d, kind, ..] => Some((u32::from_be_bytes([*a, *b, *c, *d]), *kind)),
        _ => None,
    }
}

/// A whole control frame (hello, accept, refuse, close) as bytes.
pub(crate) fn control_frame(kind: Kind, payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(HEADER_LEN + payload.len());
    // Control payloads are built by this crate and far below u32::MAX.
    out.put_u32(payload.len() as u32);
    out.put_u8(kind as u8);
    out.put_slice(payload);
    out
}

/// The first thing a writer says.
#[derive(Clone, Debug)]
pub(crate) struct Hello {
    pub version: u64,
    pub secret: String,
    pub channel: String,
    pub writer: String,
}

impl Hello {
    pub(crate) fn to_json(&self) -> String {
        json!({
            "version": self.version,
            "secret": self.secret,
            "channel": self.channel,
            "writer": self.writer,
        })
        .to_string()
    }

    /// Parses a hello payload; the error is a reason fit for a log line (it never echoes the secret).
    pub(crate) fn parse(payload: &[u8]) -> Result<Hello, String> {
        let value: Value = serde_json::from_slice(payload).map_err(|e| format!("hello is not JSON: {e}"))?;
        let field = |name: &str| -> Result<String, String> {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("hello lacks the string field \"{name}\""))
        };
        let version = value
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| "hello lacks the integer field \"version\"".to_owned())?;
        Ok(Hello { version, secret: field("secret")?, channel: field("channel")?, writer: field("writer")? })
    }
}

/// The reader endpoint's answer to a good hello.
pub(crate) fn accept_json(max_message: usize) -> String {
    json!({ "version": VERSION, "max_message": max_message }).to_string()
}

/// Reads the reader's maximum message size out of an accept payload.
pub(crate) fn parse_accept(payload: &[u8]) -> Result<usize, String> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| format!("accept is not JSON: {e}"))?;
    value
        .get("max_message")
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or_else(|| "accept lacks the integer field \"max_message\"".to_owned())
}

/// Compares secrets in time that depends only on the expected secret's length, so a remote peer cannot learn
/// the secret byte by byte from response times.
pub(crate) fn secret_matches(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = (expected.len() != given.len()) as u8;
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let mut buf = Vec::new();
        put_header(&mut buf, Kind::Text, 0x0102_0304);
        assert_eq!(buf, [1, 2, 3, 4, 4]);
        assert_eq!(parse_header(&buf), Some((0x0102_0304, 4)));
        assert_eq!(parse_header(&buf[..4]), None);
    }

    #[test]
    fn secrets() {
        assert!(secret_matches(b"abc", b"abc"));
        assert!(!secret_matches(b"abc", b"abd"));
        assert!(!secret_matches(b"abc", b"ab"));
        assert!(!secret_matches(b"abc", b"abcd"));
        assert!(!secret_matches(b"abc", b""));
        assert!(secret_matches(b"", b""));
    }

    #[test]
    fn hello_round_trip_and_garbage() {
        let h = Hello { version: VERSION, secret: "s".into(), channel: "c".into(), writer: "w".into() };
        let back = Hello::parse(h.to_json().as_bytes()).expect("parses");
        assert_eq!((back.version, &*back.secret, &*back.channel, &*back.writer), (1, "s", "c", "w"));
        assert!(Hello::parse(b"\xff\x00").is_err());
        assert!(Hello::parse(br#"{"version":1}"#).is_err());
        assert_eq!(parse_accept(accept_json(7).as_bytes()), Ok(7));
    }
}
