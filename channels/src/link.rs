//! A data connection's byte stream: plain TCP, or TLS over TCP in an encrypted run. One enum rather than
//! generics: the transports stay written once, and the plain path pays one branch per call.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Plain TCP, or TLS over TCP.
pub enum Link {
    Plain(TcpStream),
    Tls(Box<Tls>),
}

/// A TLS connection (either side of it).
pub struct Tls {
    stream: tokio_rustls::TlsStream<TcpStream>,
    /// A byte read to tell the framings apart, handed out again before anything else.
    early: Option<u8>,
}

impl Link {
    pub fn tls(stream: impl Into<tokio_rustls::TlsStream<TcpStream>>) -> Link {
        Link::Tls(Box::new(Tls { stream: stream.into(), early: None }))
    }

    /// The first byte, left to be read again. A plain socket is peeked; TLS records cannot be, so the byte
    /// is read and kept.
    pub(crate) async fn peek_first(&mut self) -> io::Result<Option<u8>> {
        match self {
            Link::Plain(stream) => {
                let mut first = [0u8; 1];
                let n = stream.peek(&mut first).await?;
                Ok((n > 0).then_some(first[0]))
            }
            Link::Tls(tls) => {
                if tls.early.is_none() {
                    let mut first = [0u8; 1];
                    if tls.stream.read(&mut first).await? == 0 {
                        return Ok(None);
                    }
                    tls.early = Some(first[0]);
                }
                Ok(tls.early)
            }
        }
    }

    /// Writes all of `buf` and, over TLS, sends the records: rustls may hold back what the socket did not
    /// take, and nothing else would push it out before the peer answers.
    pub(crate) async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, buf).await?;
        self.push().await
    }

    /// Over TLS, sends what rustls still holds; nothing to do on a plain socket.
    pub(crate) async fn push(&mut self) -> io::Result<()> {
        match self {
            Link::Plain(_) => Ok(()),
            Link::Tls(tls) => tls.stream.flush().await,
        }
    }

    /// Reads what is there without waiting; `WouldBlock` when nothing is.
    pub(crate) fn try_read_buf(&mut self, buf: &mut bytes::BytesMut) -> io::Result<usize> {
        match self {
            Link::Plain(stream) => stream.try_read_buf(buf),
            // Polled once: what it takes from the socket lands in `buf` or stays in rustls, so nothing is lost,
            // and the next real read registers for wake-ups.
            Link::Tls(tls) => tls.stream.read_buf(buf).now_or_never().unwrap_or(Err(io::ErrorKind::WouldBlock.into())),
        }
    }
}

impl AsyncRead for Link {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Link::Tls(tls) => {
                if let Some(byte) = tls.early.take() {
                    buf.put_slice(&[byte]);
                    return Poll::Ready(Ok(()));
                }
                Pin::new(&mut tls.stream).poll_read(cx, buf)
            }
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Link::Tls(tls) => Pin::new(&mut tls.stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Link::Tls(tls) => Pin::new(&mut tls.stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Link::Plain(stream) => stream.is_write_vectored(),
            Link::Tls(tls) => tls.stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Link::Tls(tls) => Pin::new(&mut tls.stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Link::Tls(tls) => Pin::new(&mut tls.stream).poll_shutdown(cx),
        }
    }
}
