//! Raw baselines for benchmarks: for each transport, the simplest careful hand-written link, one writer to
//! one reader in one process. Riffle's benchmarks print every channel figure beside one of these, measured
//! in the same run, because absolute numbers on a shared two-core machine mean little.
//!
//! TCP: length-prefixed frames batched through a 256 KiB `BufWriter`, read through a 256 KiB `BufReader`
//! into one reused buffer. WebSocket: binary messages fed and flushed once at the end. Memory: a bounded
//! tokio mpsc of `Bytes`. Every message is the same shared payload of `size` bytes.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::Limits;

fn joined<T>(result: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    result.map_err(io::Error::other)?
}

fn counted(got: u64, n: u64) -> io::Result<()> {
    if got == n {
        Ok(())
    } else {
        Err(io::Error::other(format!("the reader got {got} of {n} messages")))
    }
}

/// The reading half of the raw TCP link: accepts one connection on `listener` and reads frames to the
/// end of the stream; returns how many arrived.
pub async fn tcp_read(listener: TcpListener) -> io::Result<u64> {
    let (s, _) = listener.accept().await?;
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let mut head = [0u8; 5];
    let mut body = Vec::new();
    let mut got = 0u64;
    while r.read_exact(&mut head).await.is_ok() {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        body.resize(len, 0);
        r.read_exact(&mut body).await?;
        got += 1;
    }
    Ok(got)
}

/// The writing half of the raw TCP link: `n` frames of `size` bytes to `addr`, then the end of the stream.
pub async fn tcp_write(addr: SocketAddr, size: usize, n: u64) -> io::Result<()> {
    let payload = Bytes::from(vec![7u8; size]);
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut w = BufWriter::with_capacity(256 * 1024, s);
    let mut head = (payload.len() as u32).to_be_bytes().to_vec();
    head.push(5);
    for _ in 0..n {
        w.write_all(&head).await?;
        w.write_all(&payload).await?;
    }
    w.flush().await?;
    w.shutdown().await
}

/// Sends `n` messages of `size` bytes over loopback TCP, both halves in this process, and returns how
/// long until the last arrived.
pub async fn tcp(size: usize, n: u64) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let reader = tokio::spawn(tcp_read(listener));
    tcp_write(addr, size, n).await?;
    counted(joined(reader.await)?, n)?;
    Ok(start.elapsed())
}

/// The reading half of the raw WebSocket link: accepts one connection and counts binary messages until
/// the close.
pub async fn websocket_read(listener: TcpListener) -> io::Result<u64> {
    let (s, _) = listener.accept().await?;
    s.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(256 * 1024).max_message_size(None).max_frame_size(None);
    let mut ws = tokio_tungstenite::accept_async_with_config(s, Some(config)).await.map_err(io::Error::other)?;
    let mut got = 0u64;
    while let Some(Ok(m)) = ws.next().await {
        match m {
            WsMessage::Binary(_) => got += 1,
            WsMessage::Close(_) => break,
            _ => {}
        }
    }
    Ok(got)
}

/// The writing half of the raw WebSocket link: `n` binary messages fed, flushed once, then closed.
pub async fn websocket_write(addr: SocketAddr, size: usize, n: u64) -> io::Result<()> {
    let payload = Bytes::from(vec![7u8; size]);
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), s).await.map_err(io::Error::other)?;
    for _ in 0..n {
        ws.feed(WsMessage::Binary(payload.clone())).await.map_err(io::Error::other)?;
    }
    ws.flush().await.map_err(io::Error::other)?;
    ws.close(None).await.map_err(io::Error::other)
}

/// Sends `n` binary messages of `size` bytes over a loopback WebSocket, both halves in this process.
pub async fn websocket(size: usize, n: u64) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let reader = tokio::spawn(websocket_read(listener));
    websocket_write(addr, size, n).await?;
    counted(joined(reader.await)?, n)?;
    Ok(start.elapsed())
}

/// Sends `n` messages of `size` bytes through a bounded tokio mpsc (the memory transport's queue size).
pub async fn memory(size: usize, n: u64) -> io::Result<Duration> {
    let payload = Bytes::from(vec![7u8; size]);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(Limits::default().memory_queue);
    let start = Instant::now();
    let reader = tokio::spawn(async move {
        let mut got = 0u64;
        while let Some(b) = rx.recv().await {
            std::hint::black_box(&b);
            got += 1;
        }
        io::Result::Ok(got)
    });
    let writer = tokio::spawn(async move {
        for _ in 0..n {
            tx.send(payload.clone()).await.map_err(io::Error::other)?;
        }
        io::Result::Ok(())
    });
    joined(writer.await)?;
    counted(joined(reader.await)?, n)?;
    Ok(start.elapsed())
}
