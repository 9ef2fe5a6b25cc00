//! Network-only cases: the handshake and its refusals, hostile input, and a fan-out across transports.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use riffle_channels::{ChannelError, Endpoint, Limits, Message, Reader, Transport, Writer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use common::*;

const ACCEPT: u8 = 2;
const REFUSE: u8 = 3;

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(payload);
    out
}

fn hello(secret: &str, channel: &str, writer: &str) -> String {
    serde_json::json!({ "version": 1, "secret": secret, "channel": channel, "writer": writer }).to_string()
}

/// Sends raw bytes as a would-be writer and asserts the endpoint closed without accepting.
async fn raw_refused(ep: &Endpoint, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(ep.local_addr()).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let answer = read_until_closed(&mut s).await;
    assert!(answer.len() < 5 || answer[4] != ACCEPT, "endpoint accepted {bytes:?}");
    answer
}

/// A writer that must keep working while hostile connections come and go.
async fn bystander(ep: &Endpoint, transport: Transport) -> (Writer, Reader) {
    let reader = ep.register_reader("urn:test:bystander", 1).expect("register");
    let writer = Writer::connect(transport, ep.local_addr(), SECRET, "urn:test:bystander", "good", &Limits::default())
        .await
        .expect("connect");
    (writer, reader)
}

async fn bystander_still_works(mut writer: Writer, mut reader: Reader) {
    writer.send(Message::text("still here")).await.expect("send");
    within("close", writer.close()).await.expect("close");
    let got = within("recv", reader.recv()).await.expect("message").expect("ok");
    assert_eq!(got.as_text(), Some("still here"));
    assert!(within("end", reader.recv()).await.is_none());
}

async fn connect_err(transport: Transport, ep: &Endpoint, secret: &str, channel: &str, writer: &str) -> ChannelError {
    Writer::connect(transport, ep.local_addr(), secret, channel, writer, &Limits::default())
        .await
        .expect_err("connect must be refused")
}

pub async fn wrong_secret(t: Transport) {
    let ep = endpoint(&Limits::default()).await;
    let (good_writer, good_reader) = bystander(&ep, t).await;
    let _reader = ep.register_reader("urn:test:secret", 1).expect("register");
    // Raw, at the byte level.
    match t {
        Transport::Tcp => {
            let bad = frame(1, hello("wrong", "urn:test:secret", "intruder").as_bytes());
            let answer = raw_refused(&ep, &bad).await;
            assert!(answer.is_empty(), "nothing is told to a peer without the secret");
            // A hello with no secret at all.
            let bad = frame(1, br#"{"version":1,"channel":"urn:test:secret","writer":"x"}"#);
            raw_refused(&ep, &bad).await;
        }
        _ => {
            let stream = TcpStream::connect(ep.local_addr()).await.expect("connect");
            let (mut ws, _) =
                tokio_tungstenite::client_async(format!("ws://{}/", ep.local_addr()), stream).await.expect("upgrade");
            ws.send(WsMessage::Text(hello("wrong", "urn:test:secret", "intruder").into())).await.expect("send hello");
            match within("refusal", ws.next()).await {
                Some(Ok(WsMessage::Text(t))) => panic!("accepted with a wrong secret: {t}"),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => {}
                Some(Ok(other)) => panic!("unexpected answer {other:?}"),
            }
        }
    }
    // Through the API: a clear error naming the channel.
    let err = connect_err(t, &ep, "wrong", "urn:test:secret", "w").await;
    assert!(matches!(&err, ChannelError::Refused { channel, .. } if channel == "urn:test:secret"), "{err:?}");
    // The rightful writer still gets in, and the one connected before is unharmed.
    let mut w = Writer::connect(t, ep.local_addr(), SECRET, "urn:test:secret", "w", &Limits::default())
        .await
        .expect("right secret");
    w.send(Message::text("hi")).await.expect("send");
    within("close", w.close()).await.expect("close");
    bystander_still_works(good_writer, good_reader).await;
}

pub async fn unknown_channel_and_extra_writers(t: Transport) {
    let ep = endpoint(&Limits::default()).await;
    let err = connect_err(t, &ep, SECRET, "urn:test:nobody", "w").await;
    assert!(err.to_string().contains("no reader for channel urn:test:nobody"), "{err}");

    let _reader = ep.register_reader("urn:test:one", 1).expect("register");
    assert!(ep.register_reader("urn:test:one", 1).is_err(), "second reader for one channel");
    let _w = Writer::connect(t, ep.local_addr(), SECRET, "urn:test:one", "w", &Limits::default())
        .await
        .expect("first writer");
    let err = connect_err(t, &ep, SECRET, "urn:test:one", "w").await;
    assert!(err.to_string().contains("already connected"), "duplicate writer id: {err}");
    let err = connect_err(t, &ep, SECRET, "urn:test:one", "w2").await;
    assert!(err.to_string().contains("expected writers"), "writer beyond the count: {err}");
}

pub async fn reader_limit_is_announced(t: Transport) {
    let ep = endpoint(&Limits::default().with_max_message(1000)).await;
    let mut reader = ep.register_reader("urn:test:announced", 1).expect("register");
    // The writer's own limit is the default; the reader's smaller one wins.
    let mut w = Writer::connect(t, ep.local_addr(), SECRET, "urn:test:announced", "w", &Limits::default())
        .await
        .expect("connect");
    assert_eq!(w.max_message(), 1000);
    let err = w.send(Message::bytes(vec![0u8; 1001])).await.expect_err("too big");
    assert_eq!(err.to_string(), "channel urn:test:announced: message of 1001 bytes exceeds the limit of 1000 bytes");
    w.send(Message::bytes(vec![0u8; 1000])).await.expect("at the limit");
    within("close", w.close()).await.expect("close");
    assert_eq!(within("recv", reader.recv()).await.expect("msg").expect("ok").len(), 1000);
}

pub async fn idle_connection_is_dropped(t: Transport) {
    let limits = Limits { hello_timeout: Duration::from_millis(200), ..Limits::default() };
    let ep = endpoint(&limits).await;
    let (good_writer, good_reader) = bystander(&ep, t).await;
    let mut idle = TcpStream::connect(ep.local_addr()).await.expect("connect");
    if t == Transport::WebSocket {
        // Upgrade properly, then say nothing.
        idle.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("upgrade request");
    }
    // Returns only because the endpoint closes the silent connection.
    let answer = read_until_closed(&mut idle).await;
    assert!(answer.len() < 5 || answer[4] != ACCEPT);
    bystander_still_works(good_writer, good_reader).await;
}

macro_rules! network {
    ($module:ident, $transport:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wrong_secret_is_refused() {
                wrong_secret($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unknown_channel_duplicate_and_extra_writers_are_refused() {
                unknown_channel_and_extra_writers($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reader_limit_is_announced_to_the_writer() {
                reader_limit_is_announced($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn silent_connection_is_dropped_after_hello_timeout() {
                idle_connection_is_dropped($transport).await
            }
        }
    };
}

network!(tcp, Transport::Tcp);
network!(websocket, Transport::WebSocket);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_garbage_and_huge_lengths_are_refused() {
    let ep = endpoint(&Limits::default()).await;
    let (good_writer, good_reader) = bystander(&ep, Transport::Tcp).await;
    let _reader = ep.register_reader("urn:test:garbage", 1).expect("register");
    // Neither a frame nor an HTTP upgrade.
    raw_refused(&ep, b"hello there, this is not riffle\r\n").await;
    // A frame, but not a hello.
    raw_refused(&ep, &frame(5, b"data before hello")).await;
    // An unknown kind.
    raw_refused(&ep, &frame(0x99, b"??")).await;
    // A hello that is not JSON, and one that is JSON but not a hello.
    raw_refused(&ep, &frame(1, b"\xff\xfe{{{")).await;
    raw_refused(&ep, &frame(1, br#"[1,2,3]"#)).await;
    // A hello declaring a huge length, and the largest length there is.
    raw_refused(&ep, &[0x00, 0xff, 0xff, 0xff, 1]).await;
    raw_refused(&ep, &[0xff, 0xff, 0xff, 0xff, 1]).await;
    bystander_still_works(good_writer, good_reader).await;
}

/// After a good hello, a frame declaring more than the limit closes that connection, and the reader is told
/// which channel, which writer and which limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_frame_above_limit_is_refused_after_hello() {
    let ep = endpoint(&Limits::default().with_max_message(1 << 20)).await;
    let mut reader = ep.register_reader("urn:test:huge", 1).expect("register");
    let mut s = TcpStream::connect(ep.local_addr()).await.expect("connect");
    s.write_all(&frame(1, hello(SECRET, "urn:test:huge", "raw").as_bytes())).await.expect("hello");
    let mut head = [0u8; 5];
    s.read_exact(&mut head).await.expect("answer");
    assert_eq!(head[4], ACCEPT);
    let mut accept = vec![0u8; u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize];
    s.read_exact(&mut accept).await.expect("accept payload");
    s.write_all(&frame(5, b"fine")).await.expect("frame");
    s.write_all(&[0xff, 0xff, 0xff, 0xff, 5]).await.expect("huge header");
    let answer = read_until_closed(&mut s).await;
    assert_eq!(answer.get(4), Some(&REFUSE), "the writer is told why");

    let first = within("recv", reader.recv()).await.expect("msg").expect("ok");
    assert_eq!(first.as_bytes(), b"fine");
    let err = within("recv", reader.recv()).await.expect("error").expect_err("error");
    assert!(matches!(err, ChannelError::FrameTooLarge { declared: 0xffff_ffff, limit: 1_048_576, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "channel urn:test:huge: writer raw declared a message of 4294967295 bytes, above the limit of 1048576 bytes; connection closed"
    );
    assert!(within("end", reader.recv()).await.is_none());
}

/// A writer cut off in the middle of a frame is reported as vanished, with what it sent whole before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_writer_cut_mid_frame_vanishes() {
    let ep = endpoint(&Limits::default()).await;
    let mut reader = ep.register_reader("urn:test:cut", 1).expect("register");
    let mut s = TcpStream::connect(ep.local_addr()).await.expect("connect");
    s.write_all(&frame(1, hello(SECRET, "urn:test:cut", "raw").as_bytes())).await.expect("hello");
    let mut head = [0u8; 5];
    s.read_exact(&mut head).await.expect("answer");
    assert_eq!(head[4], ACCEPT);
    s.write_all(&frame(4, "whole".as_bytes())).await.expect("frame");
    s.write_all(&frame(5, &[1u8; 100])[..50]).await.expect("half a frame");
    drop(s);
    let first = within("recv", reader.recv()).await.expect("msg").expect("ok");
    assert_eq!(first.as_text(), Some("whole"));
    let err = within("recv", reader.recv()).await.expect("error").expect_err("error");
    assert!(
        matches!(&err, ChannelError::WriterVanished { channel, writer, .. } if channel == "urn:test:cut" && writer == "raw"),
        "{err:?}"
    );
    assert!(within("end", reader.recv()).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_garbage_and_huge_lengths_are_refused() {
    let ep = endpoint(&Limits::default().with_max_message(1 << 20)).await;
    let (good_writer, good_reader) = bystander(&ep, Transport::WebSocket).await;
    let mut reader = ep.register_reader("urn:test:ws-huge", 1).expect("register");
    let url = format!("ws://{}/", ep.local_addr());
    // A broken upgrade request.
    raw_refused(&ep, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    // First message binary, then text that is not a hello; then a hello far above the control limit.
    let too_big_hello = "x".repeat(100_000);
    for first in [
        WsMessage::Binary(vec![1u8, 2, 3].into()),
        WsMessage::Text("not json".into()),
        WsMessage::Text(too_big_hello.into()),
    ] {
        let stream = TcpStream::connect(ep.local_addr()).await.expect("connect");
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await.expect("upgrade");
        let _ = ws.send(first).await;
        if let Some(Ok(WsMessage::Text(t))) = within("refusal", ws.next()).await {
            panic!("accepted garbage: {t}");
        }
    }
    // A good hello, then a raw frame header declaring 2^40 bytes.
    let stream = TcpStream::connect(ep.local_addr()).await.expect("connect");
    let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await.expect("upgrade");
    ws.send(WsMessage::Text(hello(SECRET, "urn:test:ws-huge", "raw").into())).await.expect("hello");
    match within("accept", ws.next()).await {
        Some(Ok(WsMessage::Text(_))) => {}
        other => panic!("expected the accept, got {other:?}"),
    }
    let mut raw = ws.into_inner();
    // FIN + binary, masked, 64-bit length, zero mask key.
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    raw.write_all(&header).await.expect("huge header");
    read_until_closed(&mut raw).await;
    let err = within("recv", reader.recv()).await.expect("error").expect_err("error");
    assert!(
        matches!(&err, ChannelError::FrameTooLarge { channel, limit: 1_048_576, .. } if channel == "urn:test:ws-huge"),
        "{err:?}"
    );
    assert!(within("end", reader.recv()).await.is_none());
    bystander_still_works(good_writer, good_reader).await;
}

/// One writer feeding a reader in its own process, one behind TCP and one behind WebSocket at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_across_transports() {
    const N: u64 = 50_000;
    let local = Reader::new("urn:test:mixed", 1, Limits::default());
    let mut writer = local.channel().memory_writer("w").expect("memory writer");
    let mut readers = vec![local];
    let mut endpoints = Vec::new();
    for t in [Transport::Tcp, Transport::WebSocket] {
        let ep = endpoint(&Limits::default()).await;
        readers.push(ep.register_reader("urn:test:mixed", 1).expect("register"));
        let w = Writer::connect(t, ep.local_addr(), SECRET, "urn:test:mixed", "w", &Limits::default())
            .await
            .expect("connect");
        writer = writer.join(w);
        endpoints.push(ep);
    }
    let consumers: Vec<_> = readers
        .into_iter()
        .map(|mut r| {
            tokio::spawn(async move {
                let mut n = 0u64;
                while let Some(m) = r.recv().await {
                    assert_eq!(parse_seq(m.expect("ok").as_bytes()).1, n);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for seq in 0..N {
        writer.send(Message::bytes(seq_payload(0, seq))).await.expect("send");
    }
    within("close", writer.close()).await.expect("close");
    for c in consumers {
        assert_eq!(within("consumer", c).await.expect("join"), N);
    }
}

/// The default limit lets a 1 GiB message through. Needs about 3 GiB of memory (the machine has 24) and
/// some seconds per transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_message_over_tcp_and_websocket() {
    for t in [Transport::Tcp, Transport::WebSocket] {
        const LEN: usize = 1 << 30;
        let (mut writer, mut reader, _ep) = pair(t, "urn:test:gib", Limits::default()).await;
        let producer = tokio::spawn(async move {
            let mut data = vec![0u8; LEN];
            data[LEN - 1] = 42;
            data[12345] = 7;
            writer.send(Message::bytes(data)).await?;
            writer.close().await
        });
        let got = within("recv", reader.recv()).await.expect("msg").expect("ok");
        assert_eq!(got.len(), LEN);
        assert_eq!((got.as_bytes()[12345], got.as_bytes()[LEN - 1]), (7, 42));
        drop(got);
        assert!(within("end", reader.recv()).await.is_none());
        within("producer", producer).await.expect("join").expect("writer");
    }
}

/// Connections that half-close (shut their sending side) before or in the middle of their hello are
/// closed by the endpoint at once, without an answer, and the writers of the run go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_connections_are_closed_without_harm() {
    let ep = endpoint(&Limits::default()).await;
    let (good_writer, good_reader) = bystander(&ep, Transport::Tcp).await;
    let _reader = ep.register_reader("urn:test:half", 1).expect("register");
    let whole = frame(1, hello(SECRET, "urn:test:half", "w").as_bytes());
    let upgrade = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for sent in [Vec::new(), whole[..3].to_vec(), whole[..whole.len() / 2].to_vec(), upgrade] {
        let mut stream = TcpStream::connect(ep.local_addr()).await.expect("connect");
        stream.write_all(&sent).await.expect("write");
        stream.shutdown().await.expect("half-close");
        // Returns only because the endpoint closes its side too, long before the hello timeout.
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.is_empty(), "after {} bytes the endpoint answered {answer:?}", sent.len());
    }
    bystander_still_works(good_writer, good_reader).await;
}

/// A flood of connections that never say hello: past 256 pending handshakes the endpoint closes
/// newcomers at once (so a flood costs bounded memory), the rest when their hello is late. A writer
/// admitted before the flood is not disturbed, and once the flood is shed, new writers are admitted
/// again over both transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_connections_is_shed_without_harming_the_run() {
    const FLOOD: usize = 300;
    let limits = Limits { hello_timeout: Duration::from_millis(500), ..Limits::default() };
    let ep = endpoint(&limits).await;
    let (good_writer, good_reader) = bystander(&ep, Transport::Tcp).await;
    let mut silent = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        silent.push(TcpStream::connect(ep.local_addr()).await.expect("connect"));
    }
    bystander_still_works(good_writer, good_reader).await;
    for stream in &mut silent {
        assert!(read_until_closed(stream).await.is_empty(), "a silent connection got an answer");
    }
    for transport in [Transport::Tcp, Transport::WebSocket] {
        let channel = format!("urn:test:after-the-flood-{transport:?}");
        let mut reader = ep.register_reader(&channel, 1).expect("register");
        let mut writer = Writer::connect(transport, ep.local_addr(), SECRET, &channel, "late", &Limits::default())
            .await
            .expect("admitted once the flood is shed");
        writer.send(Message::text("after the crowd")).await.expect("send");
        within("close", writer.close()).await.expect("close");
        let got = within("recv", reader.recv()).await.expect("a message").expect("ok");
        assert_eq!(got.as_text(), Some("after the crowd"));
        assert!(within("end", reader.recv()).await.is_none());
    }
}

/// More silent strangers than the flood guard holds: the oldest are closed at once to make room, the rest at
/// the hello timeout, and a writer that connects in the middle of the flood gets in and delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_connections_does_not_lock_out_a_writer() {
    let limits = Limits { hello_timeout: Duration::from_millis(500), ..Limits::default() };
    let ep = endpoint(&limits).await;
    let mut reader = ep.register_reader("urn:test:flood", 1).expect("register");
    let strangers = riffle_channels::MAX_PENDING_HANDSHAKES + 50;
    let mut silent = Vec::new();
    for _ in 0..strangers {
        silent.push(TcpStream::connect(ep.local_addr()).await.expect("connect"));
    }
    let mut writer =
        within("writer", Writer::connect(Transport::Tcp, ep.local_addr(), SECRET, "urn:test:flood", "w", &limits))
            .await
            .expect("a writer gets in during the flood");
    writer.send(Message::text("through")).await.expect("send");
    within("close", writer.close()).await.expect("close");
    assert_eq!(within("recv", reader.recv()).await.expect("message").expect("ok").as_text(), Some("through"));
    assert!(within("end", reader.recv()).await.is_none());
    // Every stranger is closed, none was answered.
    for mut s in silent {
        assert_eq!(within("closed", read_until_closed(&mut s)).await, Vec::<u8>::new());
    }
}

/// Thousands of writers connecting at once (more than the guard lets through at a time) all get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_writers_connecting_at_once_all_get_in() {
    // Both ends live in this process: 10,000 sockets.
    let limit = riffle_channels::raise_open_file_limit().expect("RLIMIT_NOFILE");
    let n = 5000;
    if let Some(why) = riffle_channels::too_few_descriptors(limit, 2 * n as u64 + 100, "this test's 10000 sockets") {
        panic!("{why}");
    }
    let ep = endpoint(&Limits::default()).await;
    let addr = ep.local_addr();
    let readers: Vec<Reader> =
        (0..n).map(|i| ep.register_reader(&format!("urn:test:many:{i}"), 1).expect("register")).collect();
    let writers: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let channel = format!("urn:test:many:{i}");
                let mut w = Writer::connect(Transport::Tcp, addr, SECRET, &channel, "w", &Limits::default()).await?;
                w.send(Message::text(format!("{i}"))).await?;
                w.close().await
            })
        })
        .collect();
    for w in writers {
        within("writer", w).await.expect("joined").expect("connected, sent and closed");
    }
    for (i, mut reader) in readers.into_iter().enumerate() {
        let got = within("recv", reader.recv()).await.expect("message").expect("ok");
        assert_eq!(got.as_text(), Some(i.to_string().as_str()));
        assert!(within("end", reader.recv()).await.is_none());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Encrypted runs

fn identity(name: &str) -> riffle_channels::RunTls {
    let path = format!("{}/../protocol/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"));
    riffle_channels::RunTls::from_pem(&std::fs::read(path).expect("fixture")).expect("identity")
}

async fn tls_endpoint(name: &str) -> Endpoint {
    Endpoint::bind_tls("127.0.0.1:0".parse().expect("addr"), SECRET, identity(name), Limits::default())
        .await
        .expect("bind")
}

#[tokio::test]
async fn an_encrypted_channel_delivers_every_message_in_order_on_both_framings() {
    let ep = tls_endpoint("run.secret").await;
    let tls = identity("run.secret");
    for t in [Transport::Tcp, Transport::WebSocket] {
        let channel = format!("urn:test:tls:{t:?}");
        let mut reader = ep.register_reader(&channel, 1).expect("register");
        let mut writer = Writer::connect_tls(t, ep.local_addr(), SECRET, &tls, &channel, "w", &Limits::default())
            .await
            .expect("connect");
        let sending = tokio::spawn(async move {
            for i in 0..20_000u32 {
                // Every 1,000th is large, so the big-payload paths are encrypted too.
                let msg = if i % 1000 == 999 {
                    Message::bytes(vec![(i % 251) as u8; 200_000])
                } else {
                    Message::text(format!("m{i}"))
                };
                writer.send(msg).await.expect("send");
            }
            writer.close().await.expect("close");
        });
        let mut got = 0u32;
        while let Some(msg) = within("recv", reader.recv()).await {
            let msg = msg.expect("message");
            if got % 1000 == 999 {
                assert_eq!(msg.as_bytes(), vec![(got % 251) as u8; 200_000].as_slice(), "{t:?} message {got}");
            } else {
                assert_eq!(msg.as_text(), Some(format!("m{got}").as_str()), "{t:?}");
            }
            got += 1;
        }
        assert_eq!(got, 20_000, "{t:?}");
        sending.await.expect("writer");
    }
}

#[tokio::test]
async fn a_writer_refuses_an_endpoint_that_does_not_present_the_runs_certificate() {
    let ep = tls_endpoint("other.secret").await;
    let _reader = ep.register_reader("urn:test:pinned", 2).expect("register");
    for t in [Transport::Tcp, Transport::WebSocket] {
        let err = Writer::connect_tls(
            t,
            ep.local_addr(),
            SECRET,
            &identity("run.secret"),
            "urn:test:pinned",
            "w",
            &Limits::default(),
        )
        .await
        .expect_err("another certificate");
        assert_eq!(
            err.to_string(),
            format!(
                "channel urn:test:pinned: cannot connect to {0}: the peer at {0} did not present the run's certificate",
                ep.local_addr()
            )
        );
    }
}

#[tokio::test]
async fn plaintext_is_refused_both_ways_and_the_encrypted_writer_after_it_gets_in() {
    let ep = tls_endpoint("run.secret").await;
    let tls = identity("run.secret");
    for t in [Transport::Tcp, Transport::WebSocket] {
        // A writer that does not encrypt: the endpoint's TLS handshake fails on its hello and closes.
        let _reader = ep.register_reader(&format!("urn:test:plain:{t:?}"), 1).expect("register");
        let err =
            Writer::connect(t, ep.local_addr(), SECRET, &format!("urn:test:plain:{t:?}"), "w", &Limits::default())
                .await
                .expect_err("plaintext to an encrypted endpoint");
        assert!(matches!(err, ChannelError::Refused { .. }), "{err}");
        // And an encrypting writer to a plain endpoint fails instead of hanging.
        let plain = endpoint(&Limits::default()).await;
        let _plain_reader = plain.register_reader("urn:test:plain", 1).expect("register");
        let err = Writer::connect_tls(t, plain.local_addr(), SECRET, &tls, "urn:test:plain", "w", &Limits::default())
            .await
            .expect_err("TLS to a plain endpoint");
        assert!(err.to_string().contains("TLS handshake with"), "{err}");
    }
    let reader = ep.register_reader("urn:test:bystander", 1).expect("register");
    let writer = Writer::connect_tls(
        Transport::Tcp,
        ep.local_addr(),
        SECRET,
        &tls,
        "urn:test:bystander",
        "good",
        &Limits::default(),
    )
    .await
    .expect("connect");
    bystander_still_works(writer, reader).await;
}
