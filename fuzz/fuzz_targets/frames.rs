//! The data plane as a hostile peer sees it: the fuzzer's bytes are everything a client sends to a
//! reader endpoint on one connection (TCP frames, or an HTTP upgrade to WebSocket, sniffed by the
//! first byte). The endpoint must never panic or hang, and when it admits the writer, the reader
//! must get exactly the messages whose frames arrived whole and valid, in order, then the end
//! (after a CLOSE frame) or an error (anything else) — checked against the decoders below, written
//! from FRAMING.md and RFC 6455.
#![no_main]

use libfuzzer_sys::fuzz_target;
use riffle_channels::{Endpoint, Limits};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "s";
const CHANNEL: &str = "c";
/// Small, so that inputs reach the "frame above the limit" path.
const MAX_MESSAGE: usize = 1024;

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime starts"));

/// What FRAMING.md says the reader gets from these bytes, once the hello is accepted.
struct Expected {
    messages: Vec<(bool, Vec<u8>)>,
    closed: bool,
}

fn expected_after_hello(data: &[u8]) -> Option<Expected> {
    let header = |at: usize| -> Option<(usize, u8)> {
        let h = data.get(at..at + 5)?;
        Some((u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize, h[4]))
    };
    let (hello_len, kind) = header(0)?;
    if kind != 1 {
        return None;
    }
    let mut at = 5 + hello_len;
    let mut expected = Expected { messages: Vec::new(), closed: false };
    while let Some((len, kind)) = header(at) {
        match kind {
            4 | 5 if len <= MAX_MESSAGE => {
                let Some(payload) = data.get(at + 5..at + 5 + len) else { break };
                if kind == 4 && std::str::from_utf8(payload).is_err() {
                    break;
                }
                expected.messages.push((kind == 4, payload.to_vec()));
                at += 5 + len;
            }
            6 if len == 0 => {
                expected.closed = true;
                break;
            }
            _ => break,
        }
    }
    Some(expected)
}

/// One client frame as RFC 6455 section 5 lays it out: fin, opcode, unmasked payload, where the next
/// frame starts. `None` when it is incomplete or breaks the RFC (no mask, reserved bits, an unknown
/// opcode, a fragmented or long control frame, a length with its top bit set).
fn ws_frame(data: &[u8], at: usize) -> Option<(bool, u8, Vec<u8>, usize)> {
    let (b0, b1) = (*data.get(at)?, *data.get(at + 1)?);
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
    let control = opcode >= 8;
    if b0 & 0x70 != 0 || b1 & 0x80 == 0 || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10) {
        return None;
    }
    if control && (!fin || b1 & 0x7f > 125) {
        return None;
    }
    let (len, mut p) = match b1 & 0x7f {
        126 => (u16::from_be_bytes(data.get(at + 2..at + 4)?.try_into().ok()?) as u64, at + 4),
        127 => (u64::from_be_bytes(data.get(at + 2..at + 10)?.try_into().ok()?), at + 10),
        n => (n as u64, at + 2),
    };
    if len >> 63 != 0 {
        return None;
    }
    let key = data.get(p..p + 4)?.to_vec();
    p += 4;
    let end = p.checked_add(usize::try_from(len).ok()?)?;
    let payload = data.get(p..end)?.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
    Some((fin, opcode, payload, end))
}

/// What FRAMING.md's WebSocket mapping says the reader gets from these bytes, once the hello (the first
/// message after the HTTP head, at most 65,536 bytes) is accepted; a message above the limit, a frame
/// the RFC forbids or text that is not UTF-8 ends the messages.
fn expected_over_websocket(data: &[u8]) -> Option<Expected> {
    let mut at = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut expected = Expected { messages: Vec::new(), closed: false };
    let mut hello_seen = false;
    let mut open: Option<(u8, Vec<u8>)> = None;
    while let Some((fin, opcode, payload, next)) = ws_frame(data, at) {
        at = next;
        match (opcode, open.as_mut()) {
            (8, _) => {
                expected.closed = hello_seen;
                break;
            }
            (9 | 10, _) => continue,
            (0, Some((_, so_far))) => so_far.extend_from_slice(&payload),
            (1 | 2, None) => open = Some((opcode, payload)),
            _ => break,
        }
        let limit = if hello_seen { MAX_MESSAGE } else { 65_536 };
        if open.as_ref().is_some_and(|(_, so_far)| so_far.len() > limit) {
            break;
        }
        if fin {
            let (opcode, message) = open.take()?;
            if !hello_seen {
                hello_seen = true;
                continue;
            }
            if opcode == 1 && std::str::from_utf8(&message).is_err() {
                break;
            }
            expected.messages.push((opcode == 1, message));
        }
    }
    Some(expected)
}

fuzz_target!(|data: &[u8]| {
    RUNTIME.block_on(async {
        let limits =
            Limits { hello_timeout: Duration::from_secs(5), ..Limits::default() }.with_max_message(MAX_MESSAGE);
        let endpoint = Endpoint::bind_loopback(SECRET, limits).await.expect("the endpoint binds");
        let mut reader = endpoint.register_reader(CHANNEL, 1).expect("the reader registers");
        let mut stream = TcpStream::connect(endpoint.local_addr()).await.expect("the endpoint accepts connections");
        // Closing with a reset keeps hundreds of thousands of runs from filling TIME_WAIT.
        let _ = stream.set_zero_linger();
        // The endpoint may close before it read everything: a failed write is an answer, not a bug.
        let _ = stream.write_all(data).await;
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the endpoint kept the connection open after the writer's end of stream");
        let accepted = answer.len() >= 5 && answer[4] == 2 && answer[..2] == [0, 0];
        // Over WebSocket the accept is a text message holding the accept JSON, after the 101.
        let upgraded = answer.starts_with(b"HTTP/1.1 101") && answer.windows(13).any(|w| w == b"\"max_message\"");
        if !accepted && !upgraded {
            return;
        }
        let mut got = Vec::new();
        let end = loop {
            match tokio::time::timeout(Duration::from_secs(10), reader.recv()).await {
                Err(_) => panic!("the reader never ended after its only writer's connection ended"),
                Ok(None) => break None,
                Ok(Some(Err(error))) => break Some(error.to_string()),
                Ok(Some(Ok(message))) => got.push(message),
            }
        };
        let expected = if upgraded {
            expected_over_websocket(data).expect("an upgraded connection had an HTTP head")
        } else {
            expected_after_hello(data).expect("an accepted connection began with a hello frame")
        };
        let got: Vec<(bool, Vec<u8>)> = got.iter().map(|m| (m.as_text().is_some(), m.as_bytes().to_vec())).collect();
        assert_eq!(got, expected.messages, "messages differ from what FRAMING.md says arrived");
        assert_eq!(end.is_none(), expected.closed, "the reader's end ({end:?}) does not match the frames");
    });
});
