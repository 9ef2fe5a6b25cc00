//! Throughput of each channel transport against the raw link it is built on, in one process, one writer to one
//! reader, on a two-worker tokio runtime.
//!
//! `cargo run -p riffle-channels --release --example raw_vs_channel [memory|tcp|websocket] [64|1024|65536]`
//! (the optional arguments pick one link and/or one size, for profiling).
//!
//! The raw baselines are [`riffle_channels::raw`]: the way a careful hand-rolled link would be written. Every
//! case sends the same shared `Bytes` payload.

use std::time::{Duration, Instant};

use bytes::Bytes;
use riffle_channels::{memory, raw, Endpoint, Limits, Message, Transport, Writer};

const SECRET: &str = "bench";

fn count_for(size: usize) -> u64 {
    match size {
        64 => 3_000_000,
        1024 => 1_000_000,
        _ => 30_000,
    }
}

async fn channel(transport: Transport, payload: Bytes, n: u64) -> Duration {
    let limits = Limits::default();
    let (mut writer, mut reader, _ep) = match transport {
        Transport::Memory => {
            let (w, r) = memory::channel("urn:bench", limits);
            (w, r, None)
        }
        _ => {
            let ep = Endpoint::bind_loopback(SECRET, limits.clone()).await.expect("bind");
            let r = ep.register_reader("urn:bench", 1).expect("register");
            let w =
                Writer::connect(transport, ep.local_addr(), SECRET, "urn:bench", "w", &limits).await.expect("connect");
            (w, r, Some(ep))
        }
    };
    let start = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut got = 0u64;
        while let Some(m) = reader.recv().await {
            std::hint::black_box(&m.expect("message"));
            got += 1;
        }
        got
    });
    let producer = tokio::spawn(async move {
        for _ in 0..n {
            writer.send(Message::bytes(payload.clone())).await.expect("send");
        }
        writer.close().await.expect("close");
    });
    producer.await.expect("producer");
    assert_eq!(consumer.await.expect("consumer"), n);
    start.elapsed()
}

fn rates(size: usize, n: u64, d: Duration) -> (f64, f64) {
    let secs = d.as_secs_f64();
    (n as f64 / secs, n as f64 * size as f64 / secs / 1e6)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!(
        "{:<10} {:>7} {:>9} {:>14} {:>14} {:>10} {:>14} {:>10} {:>7}",
        "link", "size", "messages", "raw msg/s", "chan msg/s", "raw MB/s", "chan MB/s", "chan/raw", ""
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |what: &str| args.is_empty() || args.iter().any(|a| a == what);
    let any_size = !args.iter().any(|a| a.parse::<usize>().is_ok());
    for size in [64usize, 1024, 65536] {
        if !any_size && !wanted(&size.to_string()) {
            continue;
        }
        let n = count_for(size);
        let payload = Bytes::from(vec![0xabu8; size]);
        for (name, transport) in
            [("memory", Transport::Memory), ("tcp", Transport::Tcp), ("websocket", Transport::WebSocket)]
        {
            let any_link = !args.iter().any(|a| ["memory", "tcp", "websocket"].contains(&a.as_str()));
            if !any_link && !wanted(name) {
                continue;
            }
            // Best of five for each, so one scheduling hiccup does not decide the figure.
            let mut raw = Duration::MAX;
            let mut chan = Duration::MAX;
            for _ in 0..5 {
                let r = rt.block_on(async {
                    match transport {
                        Transport::Memory => raw::memory(size, n).await,
                        Transport::Tcp => raw::tcp(size, n).await,
                        Transport::WebSocket => raw::websocket(size, n).await,
                    }
                });
                raw = raw.min(r.expect("the raw baseline runs"));
                chan = chan.min(rt.block_on(channel(transport, payload.clone(), n)));
            }
            let (raw_msgs, raw_mb) = rates(size, n, raw);
            let (chan_msgs, chan_mb) = rates(size, n, chan);
            println!(
                "{:<10} {:>7} {:>9} {:>14.0} {:>14.0} {:>10.0} {:>14.0} {:>9.0}%",
                name,
                size,
                n,
                raw_msgs,
                chan_msgs,
                raw_mb,
                chan_mb,
                100.0 * chan_msgs / raw_msgs
            );
        }
    }
}
