//! The conformance suite: every case is written once and instantiated for the memory, TCP and WebSocket
//! transports by `conformance!` at the bottom.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use riffle_channels::{ChannelError, Limits, Message, MessageKind, Reader, Transport};

use common::*;

async fn expect_end(reader: &mut Reader) {
    match within("reader end", reader.recv()).await {
        None => {}
        Some(Ok(m)) => panic!("expected the end, got a message of {} bytes", m.len()),
        Some(Err(e)) => panic!("expected the end, got {e}"),
    }
}

async fn next_ok(reader: &mut Reader) -> Message {
    match within("recv", reader.recv()).await {
        Some(Ok(m)) => m,
        Some(Err(e)) => panic!("unexpected error: {e}"),
        None => panic!("unexpected end of channel"),
    }
}

pub async fn order_and_count(t: Transport) {
    const N: u64 = 1_000_000;
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:order", Limits::default()).await;
    let producer = tokio::spawn(async move {
        for seq in 0..N {
            writer.send(Message::bytes(seq_payload(0, seq))).await?;
        }
        writer.close().await
    });
    let mut expected = 0u64;
    while let Some(item) = within("recv", reader.recv()).await {
        let msg = item.expect("message");
        let (_, seq) = parse_seq(msg.as_bytes());
        assert_eq!(seq, expected, "message out of order, lost or duplicated");
        expected += 1;
    }
    assert_eq!(expected, N, "exact count");
    within("producer", producer).await.expect("join").expect("writer");
}

pub async fn close_propagation(t: Transport) {
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:close", Limits::default()).await;
    for i in 0..3u8 {
        writer.send(Message::bytes(vec![i])).await.expect("send");
    }
    within("close", writer.close()).await.expect("close");
    for i in 0..3u8 {
        assert_eq!(next_ok(&mut reader).await.as_bytes(), &[i]);
    }
    expect_end(&mut reader).await;
    // Stays ended.
    expect_end(&mut reader).await;

    // A writer that closes without sending anything ends the reader too.
    let (writer, mut reader, _ep2) = pair(t, "urn:test:close-empty", Limits::default()).await;
    within("close", writer.close()).await.expect("close");
    expect_end(&mut reader).await;
}

pub async fn fan_in_three(t: Transport) {
    const N: u64 = 100_000;
    let mut rig = fan_in(t, "urn:test:fan-in", 3, Limits::default()).await;
    let mut last = rig.writers.pop().expect("writer 2");
    let mut producers = Vec::new();
    for (w, mut writer) in rig.writers.drain(..).enumerate() {
        producers.push(tokio::spawn(async move {
            for seq in 0..N {
                writer.send(Message::bytes(seq_payload(w as u8, seq))).await?;
            }
            writer.close().await
        }));
    }
    // Writer 2 sends everything but does not close yet.
    let held = tokio::spawn(async move {
        for seq in 0..N {
            last.send(Message::bytes(seq_payload(2, seq))).await?;
        }
        Ok::<_, ChannelError>(last)
    });
    let reader = &mut rig.reader;
    let mut next = [0u64; 3];
    for _ in 0..3 * N {
        let msg = next_ok(reader).await;
        let (w, seq) = parse_seq(msg.as_bytes());
        assert_eq!(seq, next[w as usize], "writer {w}: order kept per writer");
        next[w as usize] += 1;
    }
    assert_eq!(next, [N; 3], "exact count per writer");
    for p in producers {
        within("producer", p).await.expect("join").expect("writer");
    }
    let last = within("held writer", held).await.expect("join").expect("writer 2");
    // Every message is in, two writers closed, one still open: the reader must not end.
    assert!(reader.recv().now_or_never().is_none(), "reader ended before its last writer closed");
    within("close", last.close()).await.expect("close writer 2");
    expect_end(reader).await;
}

/// `try_send` takes messages while the one reader has room and hands the next back, unsent and intact, once it
/// is full; `send` then delivers it after the others, in order. A fan-out writer never sends without
/// waiting, and a message above the limit is refused.
pub async fn try_send_without_waiting(t: Transport) {
    const CAP: u64 = 200_000;
    let limits = Limits { memory_queue: 8, writer_buffer: 4096, ..Limits::default() };
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:try-send", limits.clone()).await;
    let mut accepted = 0u64;
    let handed_back = loop {
        assert!(accepted < CAP, "{CAP} messages of 1 KiB taken without a full reader");
        let mut payload = seq_payload(0, accepted);
        payload.resize(1024, 0);
        match writer.try_send(Message::bytes(payload)).expect("try_send") {
            None => accepted += 1,
            Some(back) => break back,
        }
    };
    assert_eq!(parse_seq(&handed_back.as_bytes()[..9]), (0, accepted), "the message handed back is the one offered");
    assert_eq!(handed_back.len(), 1024);
    let consumer = tokio::spawn(async move {
        let mut expected = 0u64;
        while let Some(item) = reader.recv().await {
            assert_eq!(parse_seq(&item.expect("message").as_bytes()[..9]).1, expected, "order after a full reader");
            expected += 1;
        }
        expected
    });
    within("send", writer.send(handed_back)).await.expect("send");
    within("close", writer.close()).await.expect("close");
    assert_eq!(within("consumer", consumer).await.expect("join"), accepted + 1);

    let (mut both, _readers, _eps) = fan_out(t, "urn:test:try-send-fan-out", 2, limits).await;
    let back = both.try_send(Message::text("x")).expect("try_send");
    assert_eq!(back.and_then(|m| m.as_text().map(str::to_owned)).as_deref(), Some("x"));
    let (mut small, _reader, _ep) = pair(t, "urn:test:try-send-limit", Limits::default().with_max_message(4)).await;
    let refused = small.try_send(Message::text("12345")).expect_err("a message above the limit is refused");
    assert!(matches!(refused, ChannelError::MessageTooLarge { size: 5, limit: 4, .. }), "{refused}");
}

pub async fn fan_out_two(t: Transport) {
    const N: u64 = 100_000;
    let (mut writer, readers, _eps) = fan_out(t, "urn:test:fan-out", 2, Limits::default()).await;
    let consumers: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            tokio::spawn(async move {
                let mut expected = 0u64;
                while let Some(item) = reader.recv().await {
                    let (_, seq) = parse_seq(item.expect("message").as_bytes());
                    assert_eq!(seq, expected, "fan-out order");
                    expected += 1;
                }
                expected
            })
        })
        .collect();
    for seq in 0..N {
        writer.send(Message::bytes(seq_payload(0, seq))).await.expect("send");
    }
    within("close", writer.close()).await.expect("close");
    for c in consumers {
        assert_eq!(within("consumer", c).await.expect("join"), N, "every reader gets every message");
    }
}

pub async fn text_and_bytes(t: Transport) {
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:kinds", Limits::default()).await;
    let big_text: String = "riffle ✓ ".repeat(20_000);
    let big_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let sent = vec![
        Message::text(""),
        Message::text("héllo, wörld ✓ 🎉"),
        Message::bytes(Vec::new()),
        Message::bytes(vec![0u8, 1, 2, 255, 254]),
        Message::text(big_text.clone()),
        Message::bytes(big_bytes.clone()),
        Message::text_static("static"),
        Message::bytes(Bytes::from_static(b"\xff\xfe not utf-8")),
    ];
    for m in &sent {
        writer.send(m.clone()).await.expect("send");
    }
    within("close", writer.close()).await.expect("close");
    for m in &sent {
        let got = next_ok(&mut reader).await;
        assert_eq!(got.kind(), m.kind());
        assert_eq!(got.as_bytes(), m.as_bytes());
        if m.kind() == MessageKind::Text {
            assert_eq!(got.as_text(), m.as_text());
        } else {
            assert_eq!(got.as_text(), None);
        }
        assert_eq!(&got, m);
    }
    expect_end(&mut reader).await;
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i.wrapping_mul(31)) ^ (i >> 11)) as u8).collect()
}

fn checksum(data: &[u8]) -> u64 {
    data.chunks(8).fold(0u64, |acc, c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        acc.rotate_left(5) ^ u64::from_le_bytes(w)
    })
}

pub async fn big_message(t: Transport) {
    const LEN: usize = 256 << 20;
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:big", Limits::default()).await;
    let data = pattern(LEN);
    let expected_sum = checksum(&data);
    let producer = tokio::spawn(async move {
        writer.send(Message::bytes(data)).await?;
        writer.send(Message::text("after")).await?;
        writer.close().await
    });
    let got = next_ok(&mut reader).await;
    assert_eq!(got.len(), LEN, "length");
    let bytes = got.as_bytes();
    for i in [0, 1, 4095, 4096, LEN / 2, LEN - 1] {
        assert_eq!(bytes[i], ((i.wrapping_mul(31)) ^ (i >> 11)) as u8, "byte {i}");
    }
    assert_eq!(checksum(bytes), expected_sum, "checksum");
    drop(got);
    assert_eq!(next_ok(&mut reader).await.as_text(), Some("after"));
    expect_end(&mut reader).await;
    within("producer", producer).await.expect("join").expect("writer");
}

/// The reader does not read at all; the producer must block well before it has sent everything.
pub async fn backpressure(t: Transport) {
    const N: usize = 200_000;
    let limits = Limits {
        // The clock is paused below; handshakes are done by then, but keep timers out of the way regardless.
        hello_timeout: Duration::from_secs(86_400),
        ..Limits::default()
    };
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:backpressure", limits).await;
    tokio::time::pause();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let producer = tokio::spawn(async move {
        let payload = Bytes::from(vec![7u8; 1024]);
        for _ in 0..N {
            writer.send(Message::bytes(payload.clone())).await?;
            counter.fetch_add(1, Ordering::SeqCst);
        }
        writer.close().await
    });
    let stalled = wait_until_stalled(&sent).await;
    assert!(
        stalled < N / 4,
        "writer sent {stalled} of {N} 1 KiB messages to a reader that reads nothing: no backpressure"
    );
    if t == Transport::Memory {
        assert!(stalled <= Limits::default().memory_queue + 1, "memory queue bound: {stalled}");
    }
    let mut count = 0;
    while let Some(item) = reader.recv().await {
        assert_eq!(item.expect("message").len(), 1024);
        count += 1;
    }
    assert_eq!(count, N, "everything arrives once the reader drains");
    producer.await.expect("join").expect("writer");
}

pub async fn writer_vanishes(t: Transport) {
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:writer-vanishes", Limits::default()).await;
    for i in 0..10u8 {
        writer.send(Message::bytes(vec![i])).await.expect("send");
    }
    drop(writer);
    let mut got = Vec::new();
    let outcome = loop {
        match within("recv after writer vanished", reader.recv()).await {
            Some(Ok(m)) => got.push(m.as_bytes()[0]),
            other => break other,
        }
    };
    // Whatever arrived is an in-order prefix.
    assert_eq!(got, (0..got.len() as u8).collect::<Vec<_>>());
    match t {
        // In one process, dropping a writer is closing it.
        Transport::Memory => {
            assert!(outcome.is_none(), "memory writer drop ends the reader cleanly");
            assert_eq!(got.len(), 10);
        }
        _ => {
            match outcome {
                Some(Err(ChannelError::WriterVanished { channel, writer, .. })) => {
                    assert_eq!(channel, "urn:test:writer-vanishes");
                    assert_eq!(writer, "w0");
                }
                other => panic!("expected WriterVanished, got {other:?}"),
            }
            expect_end(&mut reader).await;
        }
    }
}

pub async fn reader_vanishes(t: Transport) {
    let (mut writer, reader, ep) = pair(t, "urn:test:reader-vanishes", Limits::default()).await;
    writer.send(Message::text("first")).await.expect("send");
    drop(reader);
    drop(ep);
    let err = within("send to a vanished reader", async {
        for _ in 0..10_000_000u64 {
            if let Err(e) = writer.send(Message::bytes(vec![0u8; 64])).await {
                return e;
            }
        }
        panic!("ten million sends to a vanished reader all succeeded");
    })
    .await;
    assert!(
        matches!(&err, ChannelError::ReaderVanished { channel, .. } if channel == "urn:test:reader-vanishes"),
        "got {err:?}"
    );
    let closed = within("close", writer.close()).await;
    assert!(matches!(closed, Err(ChannelError::ReaderVanished { .. })), "close: {closed:?}");
}

pub async fn limit_error_text(t: Transport) {
    let limits = Limits::default().with_max_message(1024);
    let (mut writer, mut reader, _ep) = pair(t, "urn:test:limit", limits).await;
    writer.send(Message::bytes(vec![1u8; 1024])).await.expect("at the limit passes");
    let err = writer.send(Message::bytes(vec![1u8; 1025])).await.expect_err("above the limit fails");
    assert_eq!(err.to_string(), "channel urn:test:limit: message of 1025 bytes exceeds the limit of 1024 bytes");
    assert!(matches!(err, ChannelError::MessageTooLarge { size: 1025, limit: 1024, .. }));
    let err = writer.send(Message::text("x".repeat(2000))).await.expect_err("text above the limit fails");
    assert_eq!(err.channel(), "urn:test:limit");
    // The writer is still usable: nothing of the refused messages went out.
    writer.send(Message::text("ok")).await.expect("send");
    within("close", writer.close()).await.expect("close");
    assert_eq!(next_ok(&mut reader).await.len(), 1024);
    assert_eq!(next_ok(&mut reader).await.as_text(), Some("ok"));
    expect_end(&mut reader).await;
}

macro_rules! conformance {
    ($module:ident, $transport:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn order_and_count_1m() {
                order_and_count($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn close_propagates() {
                close_propagation($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fan_in_three_writers() {
                fan_in_three($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn try_send_takes_while_there_is_room() {
                try_send_without_waiting($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fan_out_two_readers() {
                fan_out_two($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn text_and_bytes_arrive_as_sent() {
                text_and_bytes($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn message_of_256_mib() {
                big_message($transport).await
            }

            // Paused time needs the current-thread runtime.
            #[tokio::test(flavor = "current_thread")]
            async fn slow_reader_bounds_writer() {
                backpressure($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn writer_vanishing_is_reported() {
                writer_vanishes($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reader_vanishing_is_reported() {
                reader_vanishes($transport).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn oversized_message_error_names_channel_and_limit() {
                limit_error_text($transport).await
            }
        }
    };
}

conformance!(memory, Transport::Memory);
conformance!(tcp, Transport::Tcp);
conformance!(websocket, Transport::WebSocket);
