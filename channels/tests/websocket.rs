//! RFC 6455 at the byte level: what the WebSocket transport must accept from any client (fragments, pings
//! between fragments) and refuse (unmasked frames, broken UTF-8 across fragments), and a Riffle writer
//! talking to tungstenite's server, an implementation written by someone else.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use riffle_channels::{ChannelError, Endpoint, Limits, Message, Transport, Writer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use common::*;

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A client frame, written from RFC 6455 section 5.2 rather than with the crate's own encoder.
fn client_frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let key = [0x5a, 0x13, 0xc7, 0x81];
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A server frame as the endpoint must send it: unmasked, with a payload below 126 bytes.
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode, payload.len() as u8];
    out.extend_from_slice(payload);
    out
}

fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    server_frame(CLOSE, &payload)
}

/// Upgrades with tungstenite, says hello, takes the accept, and hands back the bare connection.
async fn admitted_raw(ep: &Endpoint, channel: &str) -> TcpStream {
    let stream = TcpStream::connect(ep.local_addr()).await.expect("connect");
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{}/", ep.local_addr()), stream).await.expect("upgrade");
    let hello = serde_json::json!({ "version": 1, "secret": SECRET, "channel": channel, "writer": "raw" });
    ws.send(WsMessage::Text(hello.to_string().into())).await.expect("hello");
    match within("accept", ws.next()).await {
        Some(Ok(WsMessage::Text(_))) => {}
        other => panic!("expected the accept, got {other:?}"),
    }
    ws.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_messages_arrive_whole_in_order_and_pings_between_fragments_are_answered() {
    let ep = endpoint(&Limits::default()).await;
    let mut reader = ep.register_reader("urn:test:fragments", 1).expect("register");
    let mut raw = admitted_raw(&ep, "urn:test:fragments").await;

    let text = "héllo wörld".as_bytes();
    // Cut inside the two bytes of 'é', so no fragment on its own is UTF-8.
    let (a, rest) = text.split_at(2);
    let (b, c) = rest.split_at(5);
    // 700 KiB in seven fragments: more than a batch, so the message spans batches as it arrives.
    let big: Vec<u8> = (0..700 * 1024).map(|i| (i % 251) as u8).collect();
    let mut wire = client_frame(true, BINARY, b"first", true);
    wire.extend(client_frame(false, TEXT, a, true));
    wire.extend(client_frame(true, PING, b"p1", true));
    wire.extend(client_frame(false, CONTINUATION, b, true));
    raw.write_all(&wire).await.expect("write");
    // "first" can only arrive by being handed over while the text message is still open.
    let first = within("recv", reader.recv()).await.expect("a message").expect("ok");
    assert_eq!(first, Message::bytes(&b"first"[..]));

    let mut wire = client_frame(true, CONTINUATION, c, true);
    let pieces: Vec<&[u8]> = big.chunks(100 * 1024).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = if i == 0 { BINARY } else { CONTINUATION };
        wire.extend(client_frame(i == pieces.len() - 1, opcode, piece, true));
    }
    wire.extend(client_frame(true, BINARY, b"last", true));
    wire.extend(client_frame(true, CLOSE, &1000u16.to_be_bytes(), true));
    raw.write_all(&wire).await.expect("write");

    let mut expected = server_frame(PONG, b"p1");
    expected.extend(close_frame(1000, ""));
    assert_eq!(read_until_closed(&mut raw).await, expected, "a pong, then the close acknowledgement");
    let mut got = Vec::new();
    while let Some(m) = within("recv", reader.recv()).await {
        got.push(m.expect("ok"));
    }
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].as_text(), Some("héllo wörld"));
    assert_eq!(got[1].as_bytes(), &big[..]);
    assert_eq!(got[2], Message::bytes(&b"last"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_rfc_6455_forbids_are_refused_after_what_came_before() {
    let mut split_utf8 = client_frame(false, TEXT, &[b'a', 0xc3], true);
    split_utf8.extend(client_frame(true, CONTINUATION, b"(", true));
    let mut interrupted = client_frame(false, BINARY, b"a", true);
    interrupted.extend(client_frame(true, BINARY, b"b", true));
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        (
            "unmasked",
            client_frame(true, BINARY, b"x", false),
            1002,
            "an unmasked frame (a client must mask every frame)",
        ),
        ("broken UTF-8 across fragments", split_utf8, 1008, "text message is not UTF-8"),
        ("a message inside a message", interrupted, 1002, "a new message began inside a fragmented one"),
        (
            "a lone continuation",
            client_frame(true, CONTINUATION, b"x", true),
            1002,
            "a continuation frame with no message to continue",
        ),
        ("a fragmented ping", client_frame(false, PING, b"x", true), 1002, "a control frame (opcode 9) is fragmented"),
    ];
    let ep = endpoint(&Limits::default()).await;
    for (i, (what, frames, code, reason)) in cases.into_iter().enumerate() {
        let channel = format!("urn:test:refused-{i}");
        let mut reader = ep.register_reader(&channel, 1).expect("register");
        let mut raw = admitted_raw(&ep, &channel).await;
        let mut wire = client_frame(true, TEXT, b"before", true);
        wire.extend(frames);
        raw.write_all(&wire).await.expect("write");
        assert_eq!(read_until_closed(&mut raw).await, close_frame(code, reason), "{what}: what the writer is told");
        let first = within("recv", reader.recv()).await.expect("a message").expect("ok");
        assert_eq!(first.as_text(), Some("before"), "{what}");
        let err = within("recv", reader.recv()).await.expect("an error").expect_err("an error");
        match &err {
            ChannelError::Protocol { channel: c, reason: r, .. } => {
                assert_eq!(c, &channel, "{what}");
                assert!(r.starts_with(reason), "{what}: {r}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(within("end", reader.recv()).await.is_none(), "{what}");
    }
}

/// The writer's side against tungstenite's server: the server checks that frames are masked (RFC 6455
/// requires it), pings the writer before it sends and again while it is sending, and answers its close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_works_with_a_standard_websocket_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let expected_big = big.clone();
    let (ponged, pong_seen) = tokio::sync::oneshot::channel();
    let busy_pongs = Arc::new(AtomicUsize::new(0));
    let server_pongs = busy_pongs.clone();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(stream).await.expect("upgrade");
        let hello = match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => serde_json::from_str::<serde_json::Value>(&t).expect("JSON"),
            other => panic!("expected the hello, got {other:?}"),
        };
        assert_eq!((hello["secret"].as_str(), hello["channel"].as_str()), (Some(SECRET), Some("urn:test:std")));
        ws.send(WsMessage::Text(r#"{"version":1,"max_message":1000000}"#.into())).await.expect("accept");
        ws.send(WsMessage::Ping(b"are you there".to_vec().into())).await.expect("ping");
        match ws.next().await {
            Some(Ok(WsMessage::Pong(p))) => assert_eq!(&p[..], b"are you there"),
            other => panic!("expected the pong, got {other:?}"),
        }
        ponged.send(()).expect("the test waits");
        let mut data = Vec::new();
        while let Some(m) = ws.next().await {
            match m.expect("a valid frame") {
                WsMessage::Text(t) if t.as_str() == "ping me" => {
                    ws.send(WsMessage::Ping(b"busy?".to_vec().into())).await.expect("second ping");
                    data.push(WsMessage::Text(t));
                }
                WsMessage::Pong(p) => {
                    assert_eq!(&p[..], b"busy?");
                    server_pongs.fetch_add(1, Ordering::SeqCst);
                }
                WsMessage::Close(frame) => {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                    break;
                }
                m => data.push(m),
            }
        }
        // tungstenite queued its reply to the close; flushing sends it.
        let _ = ws.flush().await;
        data
    });
    let mut writer = Writer::connect(Transport::WebSocket, addr, SECRET, "urn:test:std", "w", &Limits::default())
        .await
        .expect("connect");
    assert_eq!(writer.max_message(), 1_000_000);
    within("pong", pong_seen).await.expect("the server saw the pong");
    writer.send(Message::text("one")).await.expect("send");
    writer.send(Message::bytes(vec![2u8; 10])).await.expect("send");
    writer.send(Message::bytes(big)).await.expect("send");
    writer.send(Message::text("ping me")).await.expect("send");
    // The writer keeps sending until the answer to the second ping has come back.
    let mut filler = 0;
    within("the pong while sending", async {
        while busy_pongs.load(Ordering::SeqCst) == 0 {
            writer.send(Message::bytes(vec![9u8; 1000])).await.expect("send");
            filler += 1;
        }
    })
    .await;
    within("close", writer.close()).await.expect("the server acknowledged the close");
    let data = within("server", server).await.expect("server");
    assert_eq!(busy_pongs.load(Ordering::SeqCst), 1);
    let mut expected = vec![
        WsMessage::Text("one".into()),
        WsMessage::Binary(vec![2u8; 10].into()),
        WsMessage::Binary(expected_big.into()),
        WsMessage::Text("ping me".into()),
    ];
    expected.extend((0..filler).map(|_| WsMessage::Binary(vec![9u8; 1000].into())));
    assert_eq!(data.len(), expected.len());
    assert!(data == expected, "the messages differ from what was sent");
}

/// xorshift64*, so the mixed stream below is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Two thousand messages of 0 to 70,000 bytes, text and binary, each cut into one to four fragments with
/// pings between some of them, written in pieces of random size: every message arrives whole and in order,
/// wherever a piece ends (inside a header, a mask key, a fragment, between fragments), and every ping is
/// answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_stream_cut_at_random_arrives_whole_and_in_order() {
    let ep = endpoint(&Limits::default()).await;
    let mut reader = ep.register_reader("urn:test:mixed-ws", 1).expect("register");
    let raw = admitted_raw(&ep, "urn:test:mixed-ws").await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    let mut pings = 0;
    for n in 0..2000u64 {
        let len = match rng.below(4) {
            0 => rng.below(16),
            1 => rng.below(200),
            2 => rng.below(5000),
            _ => rng.below(70_000),
        } as usize;
        let text = rng.below(2) == 0;
        let payload: Vec<u8> = if text {
            // Two-byte characters, so fragment cuts fall inside characters too.
            "é".repeat(len / 2).into_bytes()
        } else {
            (0..len).map(|i| (i as u64 * 31 + n) as u8).collect()
        };
        let fragments = 1 + rng.below(4) as usize;
        let mut cuts: Vec<usize> = (1..fragments).map(|_| rng.below(payload.len() as u64 + 1) as usize).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for (i, end) in cuts.into_iter().chain([payload.len()]).enumerate() {
            let opcode = if i > 0 {
                CONTINUATION
            } else if text {
                TEXT
            } else {
                BINARY
            };
            wire.extend(client_frame(end == payload.len() && i == fragments - 1, opcode, &payload[start..end], true));
            start = end;
            if rng.below(8) == 0 {
                wire.extend(client_frame(true, PING, &n.to_be_bytes(), true));
                pings += 1;
            }
        }
        sent.push(if text {
            Message::text(String::from_utf8(payload).expect("UTF-8"))
        } else {
            Message::bytes(payload)
        });
    }
    wire.extend(client_frame(true, CLOSE, &1000u16.to_be_bytes(), true));

    let consumer = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(m) = reader.recv().await {
            got.push(m.expect("ok"));
        }
        got
    });
    let (mut from_endpoint, mut to_endpoint) = raw.into_split();
    let answers = tokio::spawn(async move {
        let mut answers = Vec::new();
        from_endpoint.read_to_end(&mut answers).await.map(|_| answers)
    });
    let mut at = 0;
    while at < wire.len() {
        let piece = (1 + rng.below(300_000) as usize).min(wire.len() - at);
        to_endpoint.write_all(&wire[at..at + piece]).await.expect("write");
        at += piece;
    }
    let got = within("all messages", consumer).await.expect("consumer");
    assert_eq!(got.len(), sent.len());
    let first_wrong = got.iter().zip(&sent).position(|(g, s)| g != s);
    assert_eq!(first_wrong, None, "messages arrived changed");
    let answers = within("the answers", answers).await.expect("join").expect("read");
    let pong_len = 2 + 8;
    assert_eq!(answers.len(), pings * pong_len + 4, "{pings} pongs, then the close acknowledgement");
    assert_eq!(&answers[answers.len() - 4..], close_frame(1000, ""));
}
