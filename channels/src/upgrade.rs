//! The HTTP/1.1 upgrade that opens a WebSocket connection (RFC 6455, section 4), on both sides. Done here
//! rather than by tungstenite so that every byte read past the HTTP head stays with the connection: the
//! frames that follow are parsed from our own buffers.

use crate::link::Link;
use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// An HTTP head longer than this is refused: a request or response of a few headers needs a fraction.
const MAX_HEAD: usize = 16 * 1024;
/// Headers read from a head at the most.
const MAX_HEADERS: usize = 32;

/// Reads until the blank line that ends an HTTP head; returns its length in `buf`.
async fn read_head(stream: &mut Link, buf: &mut BytesMut) -> Result<usize, String> {
    let mut searched = 0;
    loop {
        if let Some(at) = buf[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(searched + at + 4);
        }
        searched = buf.len().saturating_sub(3);
        if buf.len() >= MAX_HEAD {
            return Err(format!("an HTTP head longer than {MAX_HEAD} bytes"));
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err("the connection ended inside the HTTP head".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading the HTTP head failed: {e}")),
        }
    }
}

fn header<'h>(headers: &'h [httparse::Header<'_>], name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

/// Whether a comma-separated header value holds `token`, in any case.
fn has_token(value: Option<&[u8]>, token: &str) -> bool {
    value.is_some_and(|v| v.split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes())))
}

/// The server's side: reads the upgrade request and answers `101 Switching Protocols`, or `400 Bad
/// Request` and an error. Returns what the client sent after its request.
pub(crate) async fn accept(stream: &mut Link) -> Result<BytesMut, String> {
    let mut buf = BytesMut::with_capacity(4096);
    let head = read_head(stream, &mut buf).await?;
    let key = {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let checked = match request.parse(&buf[..head]) {
            Ok(httparse::Status::Complete(_)) => check_request(&request),
            Ok(httparse::Status::Partial) => Err("an incomplete HTTP request".into()),
            Err(e) => Err(format!("a malformed HTTP request ({e})")),
        };
        match checked {
            Ok(key) => key,
            Err(reason) => {
                let refusal = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
                let _ = stream.write_all(refusal.as_bytes()).await;
                return Err(format!("not a WebSocket upgrade: {reason}"));
            }
        }
    };
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {key}\r\n\r\n"
    );
    stream.write_all(answer.as_bytes()).await.map_err(|e| format!("answering the upgrade failed: {e}"))?;
    buf.advance(head);
    Ok(buf)
}

/// The `Sec-WebSocket-Accept` value for a valid upgrade request. No extension or subprotocol is ever
/// agreed to, so their headers are let pass and ignored.
fn check_request(request: &httparse::Request<'_, '_>) -> Result<String, String> {
    if request.method != Some("GET") || request.version != Some(1) {
        return Err("the request is not an HTTP/1.1 GET".into());
    }
    if !has_token(header(request.headers, "upgrade"), "websocket") {
        return Err("no \"Upgrade: websocket\" header".into());
    }
    if !has_token(header(request.headers, "connection"), "upgrade") {
        return Err("no \"Connection: Upgrade\" header".into());
    }
    if header(request.headers, "sec-websocket-version") != Some(b"13") {
        return Err("no \"Sec-WebSocket-Version: 13\" header".into());
    }
    match header(request.headers, "sec-websocket-key") {
        Some(key) if !key.is_empty() => Ok(derive_accept_key(key)),
        _ => Err("no Sec-WebSocket-Key header".into()),
    }
}

/// The client's side: sends the upgrade request for `host` and checks the answer. Returns what the server
/// sent after its answer.
pub(crate) async fn request(stream: &mut Link, host: &str) -> Result<BytesMut, String> {
    let key = generate_key();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("sending the upgrade request failed: {e}"))?;
    let mut buf = BytesMut::with_capacity(4096);
    let head = read_head(stream, &mut buf).await?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&buf[..head]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("an incomplete HTTP response".into()),
        Err(e) => return Err(format!("a malformed HTTP response ({e})")),
    }
    if response.code != Some(101) {
        let code = response.code.map_or_else(|| "?".to_owned(), |c| c.to_string());
        return Err(format!("the upgrade was answered {code} {}", response.reason.unwrap_or_default()));
    }
    if header(response.headers, "sec-websocket-accept") != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
        return Err("the upgrade was answered with a wrong Sec-WebSocket-Accept".into());
    }
    buf.advance(head);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (Link, Link) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (Link::Plain(client), Link::Plain(server))
    }

    /// `tail`, then what else arrives, up to `want.len()` bytes.
    async fn rest(stream: &mut Link, tail: BytesMut, want: &[u8]) -> Vec<u8> {
        let mut got = tail.to_vec();
        let mut more = vec![0u8; 64];
        while got.len() < want.len() {
            let n = stream.read(&mut more).await.expect("read");
            assert_ne!(n, 0, "the stream ended after {got:?}");
            got.extend_from_slice(&more[..n]);
        }
        got
    }

    #[tokio::test]
    async fn both_sides_agree_and_keep_what_follows_the_head() {
        let (mut client, mut server) = pair().await;
        // The server answers, and writes on in the same write, before the client reads a byte.
        let answering = tokio::spawn(async move {
            let mut head = BytesMut::new();
            let len = read_head(&mut server, &mut head).await.expect("the request");
            let text = std::str::from_utf8(&head[..len]).expect("ASCII").to_owned();
            let key = text.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).expect("a key");
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\nframes from the server",
                derive_accept_key(key.as_bytes())
            );
            server.write_all(answer.as_bytes()).await.expect("write");
            text
        });
        let tail = request(&mut client, "example:1").await.expect("a valid answer");
        assert_eq!(rest(&mut client, tail, b"frames from the server").await, b"frames from the server");
        let sent = answering.await.expect("join");
        assert!(sent.starts_with("GET / HTTP/1.1\r\nHost: example:1\r\nUpgrade: websocket\r\n"), "{sent}");

        // And the other way: a client that sends on right after its request loses nothing either.
        let (mut client, mut server) = pair().await;
        let pipelined = "GET /any HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nframes";
        client.write_all(pipelined.as_bytes()).await.expect("write");
        let tail = accept(&mut server).await.expect("a valid request");
        assert_eq!(rest(&mut server, tail, b"frames").await, b"frames");
        let mut answer = vec![0u8; 200];
        let n = client.read(&mut answer).await.expect("read");
        // The example key and answer of RFC 6455, section 1.3.
        assert_eq!(
            std::str::from_utf8(&answer[..n]).expect("ASCII"),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_request_that_is_not_an_upgrade_is_answered_400_and_named() {
        for (request, reason) in [
            ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "no \"Upgrade: websocket\" header"),
            ("POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", "the request is not an HTTP/1.1 GET"),
            (
                "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 8\r\n\r\n",
                "no \"Sec-WebSocket-Version: 13\" header",
            ),
            (
                "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
                "no Sec-WebSocket-Key header",
            ),
        ] {
            let (mut client, mut server) = pair().await;
            client.write_all(request.as_bytes()).await.expect("write");
            let err = accept(&mut server).await.expect_err("refused");
            assert_eq!(err, format!("not a WebSocket upgrade: {reason}"));
            drop(server);
            let mut answer = String::new();
            client.read_to_string(&mut answer).await.expect("read");
            assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        }
    }

    #[tokio::test]
    async fn an_endless_head_is_refused_at_16_kib() {
        let (mut client, mut server) = pair().await;
        let writer = tokio::spawn(async move {
            let _ = client.write_all(b"GET / HTTP/1.1\r\n").await;
            let _ = client.write_all(&vec![b'x'; 40_000]).await;
            client
        });
        assert_eq!(accept(&mut server).await.expect_err("refused"), "an HTTP head longer than 16384 bytes");
        drop(server);
        drop(writer.await);
    }
}
