//! Raw baselines for benchmarks: for each transport, the simplest careful hand-written link, one writer to
//! one reader in one process. Riffle's benchmarks print every channel figure beside one of these, measured
//! in the same run, because absolute numbers on a shared two-core machine mean little.
//!
//! TCP: length-prefixed frames, small ones batched into 256 KiB writes and large ones written vectored
//! from where they lie; read 256 KiB at a time and parsed in place, so the kernel's copy is the only one
//! (the best simple program for the link, so that the ratio to it means something). WebSocket: tungstenite makes the upgrade, then
//! masked binary frames are written and parsed the same way (masking is the one copy). Memory: a bounded
//! tokio mpsc of `Bytes`. Every message is the same shared payload of `size` bytes.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

/// Bytes the raw TCP link reads per system call, as the channel's reader does.
const TCP_CHUNK: usize = 256 * 1024;
/// Bytes the raw TCP link writes per system call. The size of writes is what limits a loopback link
/// at 64 KiB (64 KiB writes reach about 2.6 GB/s here, 2 MiB writes 3.8 GB/s, iperf3 agrees), and
/// the channel's writer hands the socket its whole queue at once (up to 64 iovecs), so the baseline
/// writes as much per call, or the channel beats it by writing bigger, not by being faster.
const TCP_WRITE: usize = 1024 * 1024;
/// From this size a payload is written from where it lies (vectored, beside its header) instead of
/// being copied into the batch: a copy of a large message costs more than the extra iovec.
const TCP_DIRECT: usize = 16 * 1024;

/// The reading half of the raw TCP link: accepts one connection on `listener` and reads frames to the
/// end of the stream; returns how many arrived. Frames are parsed where they landed in one large read
/// buffer (the kernel's copy is the only one), as the channel's reader does.
pub async fn tcp_read(listener: TcpListener) -> io::Result<u64> {
    let (mut s, _) = listener.accept().await?;
    let mut buf = vec![0u8; 2 * TCP_CHUNK];
    let (mut start, mut end, mut got) = (0usize, 0usize, 0u64);
    loop {
        while end - start >= 5 {
            let len = u32::from_be_bytes([buf[start], buf[start + 1], buf[start + 2], buf[start + 3]]) as usize;
            if end - start < 5 + len {
                break;
            }
            std::hint::black_box(&buf[start + 5..start + 5 + len]);
            start += 5 + len;
            got += 1;
        }
        make_room(&mut buf, &mut start, &mut end);
        let n = s.read(&mut buf[end..]).await?;
        if n == 0 {
            return Ok(got);
        }
        end += n;
    }
}

/// Moves the unfinished frame in `buf[start..end]` to the front, with room behind it for a whole read.
fn make_room(buf: &mut Vec<u8>, start: &mut usize, end: &mut usize) {
    if buf.len() - *end < TCP_CHUNK {
        buf.copy_within(*start..*end, 0);
        *end -= *start;
        *start = 0;
        if buf.len() - *end < TCP_CHUNK {
            buf.resize(*end + TCP_CHUNK, 0);
        }
    }
}

/// The writing half of the raw TCP link: `n` frames of `size` bytes to `addr`, then the end of the
/// stream. Small frames are copied into one batch written when it holds [`TCP_WRITE`] bytes; large
/// payloads go out vectored from the shared buffer with their headers, with no copy at all.
pub async fn tcp_write(addr: SocketAddr, size: usize, n: u64) -> io::Result<()> {
    let payload = Bytes::from(vec![7u8; size]);
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut head = (payload.len() as u32).to_be_bytes().to_vec();
    head.push(5);
    if size >= TCP_DIRECT {
        let per_call = (TCP_WRITE / size).clamp(1, 32) as u64;
        let mut sent = 0u64;
        while sent < n {
            let k = per_call.min(n - sent) as usize;
            let mut slices: Vec<io::IoSlice<'_>> = Vec::with_capacity(2 * k);
            for _ in 0..k {
                slices.push(io::IoSlice::new(&head));
                slices.push(io::IoSlice::new(&payload));
            }
            write_all_vectored(&mut s, &mut slices).await?;
            sent += k as u64;
        }
    } else {
        let mut batch = Vec::with_capacity(TCP_WRITE + head.len() + size);
        for _ in 0..n {
            batch.extend_from_slice(&head);
            batch.extend_from_slice(&payload);
            if batch.len() >= TCP_WRITE {
                s.write_all(&batch).await?;
                batch.clear();
            }
        }
        s.write_all(&batch).await?;
    }
    s.shutdown().await
}

async fn write_all_vectored(s: &mut TcpStream, mut slices: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        let written = s.write_vectored(slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        io::IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
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

/// The reading half of the raw WebSocket link: accepts one connection, lets tungstenite answer the
/// upgrade, then parses RFC 6455 frames where one large read put them, unmasking each payload in place,
/// and counts binary messages until the close frame.
pub async fn websocket_read(listener: TcpListener) -> io::Result<u64> {
    let (s, _) = listener.accept().await?;
    s.set_nodelay(true)?;
    let mut ws = tokio_tungstenite::accept_async(s).await.map_err(io::Error::other)?;
    // The client sends no frame before it has the upgrade's answer, so nothing is buffered above the socket.
    let s = ws.get_mut();
    let mut buf = vec![0u8; 2 * TCP_CHUNK];
    let (mut start, mut end, mut got) = (0usize, 0usize, 0u64);
    loop {
        while let Some((opcode, head, len)) = ws_frame_head(&buf[start..end]) {
            if end - start < head + len {
                break;
            }
            let key = [buf[start + head - 4], buf[start + head - 3], buf[start + head - 2], buf[start + head - 1]];
            let payload = &mut buf[start + head..start + head + len];
            mask(payload, key);
            std::hint::black_box(&payload);
            start += head + len;
            match opcode {
                0x2 => got += 1,
                0x8 => return Ok(got),
                _ => return Err(io::Error::other(format!("unexpected opcode {opcode}"))),
            }
        }
        make_room(&mut buf, &mut start, &mut end);
        let n = s.read(&mut buf[end..]).await?;
        if n == 0 {
            return Err(io::Error::other("the writer closed without a close frame"));
        }
        end += n;
    }
}

/// A masked frame's opcode, header length (mask key included) and payload length, once its header is in
/// `b`.
fn ws_frame_head(b: &[u8]) -> Option<(u8, usize, usize)> {
    if b.len() < 2 {
        return None;
    }
    let (head, len) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (8, u16::from_be_bytes([b[2], b[3]]) as usize),
        127 if b.len() >= 10 => (14, u64::from_be_bytes(b[2..10].try_into().ok()?) as usize),
        126 | 127 => return None,
        n => (6, n as usize),
    };
    (b.len() >= head).then_some((b[0] & 0x0f, head, len))
}

fn ws_frame_header(out: &mut Vec<u8>, opcode: u8, len: usize, key: [u8; 4]) {
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
}

/// XORs `data` with the mask `key`, eight bytes at a time.
fn mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut words = data.chunks_exact_mut(8);
    for w in &mut words {
        let v = u64::from_ne_bytes((&*w).try_into().expect("eight bytes")) ^ wide;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// The writing half of the raw WebSocket link: tungstenite makes the upgrade, then `n` masked binary
/// frames of `size` bytes are masked straight into one batch written [`TCP_WRITE`] bytes at a time (the
/// mask forces a copy, so this is the one copy), then a close frame.
pub async fn websocket_write(addr: SocketAddr, size: usize, n: u64) -> io::Result<()> {
    let payload = vec![7u8; size];
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), s).await.map_err(io::Error::other)?;
    let s = ws.get_mut();
    // A fixed key is as costly to apply as a random one; the baseline needs no unpredictability.
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut batch = Vec::with_capacity(TCP_WRITE + 14 + size);
    for _ in 0..n {
        ws_frame_header(&mut batch, 0x2, size, key);
        let at = batch.len();
        batch.extend_from_slice(&payload);
        mask(&mut batch[at..], key);
        if batch.len() >= TCP_WRITE {
            s.write_all(&batch).await?;
            batch.clear();
        }
    }
    ws_frame_header(&mut batch, 0x8, 0, key);
    s.write_all(&batch).await?;
    s.shutdown().await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_matches_rfc_6455s_example() {
        // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
        let mut hello = *b"Hello";
        mask(&mut hello, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(hello, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let mut long: Vec<u8> = (0..=255).collect();
        mask(&mut long, [1, 2, 3, 4]);
        mask(&mut long, [1, 2, 3, 4]);
        assert_eq!(long, (0..=255).collect::<Vec<u8>>());
    }

    // Each length form of a WebSocket frame (7-bit, 16-bit, 64-bit) and frames split across reads.
    #[tokio::test]
    async fn every_message_of_every_size_is_counted() {
        for size in [0, 64, 125, 126, 1024, 65535, 65536, 300_000] {
            let n = if size > 65536 { 40 } else { 3_000 };
            tcp(size, n).await.unwrap_or_else(|e| panic!("tcp, {size} B: {e}"));
            websocket(size, n).await.unwrap_or_else(|e| panic!("websocket, {size} B: {e}"));
        }
    }
}
