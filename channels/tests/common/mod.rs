//! Shared set-up for the integration tests: the same cases run against every transport.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use riffle_channels::{Endpoint, Limits, Reader, Transport, Writer};

pub const SECRET: &str = "per-run-secret-for-tests";

/// Safety net only: a test that hangs fails here instead of stalling the suite.
pub const SAFETY: Duration = Duration::from_secs(60);

pub async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(SAFETY, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what} did not finish within the safety net of {SAFETY:?}"),
    }
}

/// Reads until the endpoint closes the connection; returns what it sent (a reset counts as closed).
pub async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let _ = within("endpoint closing the connection", stream.read_to_end(&mut got)).await;
    got
}

pub async fn endpoint(limits: &Limits) -> Endpoint {
    Endpoint::bind_loopback(SECRET, limits.clone()).await.expect("bind 127.0.0.1:0")
}

/// A reader and its writers, plus whatever must stay alive for them (the endpoint).
pub struct Rig {
    pub reader: Reader,
    pub writers: Vec<Writer>,
    pub endpoint: Option<Endpoint>,
}

/// One reader expecting `n` writers, and those `n` writers, over `transport`.
pub async fn fan_in(transport: Transport, channel: &str, n: usize, limits: Limits) -> Rig {
    match transport {
        Transport::Memory => {
            let reader = Reader::new(channel, n, limits);
            let writers =
                (0..n).map(|i| reader.channel().memory_writer(&format!("w{i}")).expect("memory writer")).collect();
            Rig { reader, writers, endpoint: None }
        }
        Transport::Tcp | Transport::WebSocket => {
            let ep = endpoint(&limits).await;
            let reader = ep.register_reader(channel, n).expect("register");
            let mut writers = Vec::new();
            for i in 0..n {
                writers.push(
                    Writer::connect(transport, ep.local_addr(), SECRET, channel, &format!("w{i}"), &limits)
                        .await
                        .expect("connect"),
                );
            }
            Rig { reader, writers, endpoint: Some(ep) }
        }
    }
}

/// One reader, one writer.
pub async fn pair(transport: Transport, channel: &str, limits: Limits) -> (Writer, Reader, Option<Endpoint>) {
    let mut rig = fan_in(transport, channel, 1, limits).await;
    let writer = rig.writers.pop().expect("one writer");
    (writer, rig.reader, rig.endpoint)
}

/// Fan-out: `n` readers (each behind its own endpoint for network transports, as if in separate processes)
/// and one writer joined to all of them.
pub async fn fan_out(
    transport: Transport,
    channel: &str,
    n: usize,
    limits: Limits,
) -> (Writer, Vec<Reader>, Vec<Endpoint>) {
    let mut writer: Option<Writer> = None;
    let mut readers = Vec::new();
    let mut endpoints = Vec::new();
    for _ in 0..n {
        let (w, r, ep) = pair(transport, channel, limits.clone()).await;
        writer = Some(match writer {
            None => w,
            Some(prev) => prev.join(w),
        });
        readers.push(r);
        endpoints.extend(ep);
    }
    (writer.expect("n > 0"), readers, endpoints)
}

pub fn seq_payload(writer: u8, seq: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(9);
    v.push(writer);
    v.extend_from_slice(&seq.to_le_bytes());
    v
}

pub fn parse_seq(payload: &[u8]) -> (u8, u64) {
    assert_eq!(payload.len(), 9, "payload length");
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&payload[1..]);
    (payload[0], u64::from_le_bytes(seq))
}

/// With tokio's clock paused, a sleep completes only once every task is idle; a counter that has not moved
/// across many such rounds means the producer is blocked, not slow.
pub async fn wait_until_stalled(counter: &Arc<AtomicUsize>) -> usize {
    let mut stable = 0;
    let mut last = counter.load(Ordering::SeqCst);
    while stable < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = counter.load(Ordering::SeqCst);
        if now == last && now > 0 {
            stable += 1;
        } else {
            stable = 0;
            last = now;
        }
    }
    last
}
