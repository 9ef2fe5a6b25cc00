//! The WebSocket transport (FRAMING.md, "WebSocket mapping"): one channel message per WebSocket message,
//! text as text and bytes as binary, the hello and accept as text messages, close as a close frame.

use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{accept_async_with_config, client_async_with_config, WebSocketStream};

use crate::endpoint::{Admitted, Inner, Refusal};
use crate::frame::{accept_json, parse_accept, Hello, MAX_CONTROL, VERSION};
use crate::outbox::{Messages, Outbox};
use crate::reader::{Item, NetLane};
use crate::tcp::{BATCH_BYTES, BATCH_MESSAGES};
use crate::writer::{ConnectTo, NetSink, Sink};
use crate::{ChannelError, Message};

type Ws = WebSocketStream<TcpStream>;

const READ_BUFFER: usize = 256 * 1024;
/// The socket task waits for the sender to queue this much (see `Outbox::linger`) before writing.
const LINGER_UNTIL: usize = 128 * 1024;

/// Before a peer is admitted it may only send control-sized messages.
fn control_config() -> WebSocketConfig {
    WebSocketConfig::default().max_message_size(Some(MAX_CONTROL)).max_frame_size(Some(MAX_CONTROL))
}

/// A close frame's reason is limited to 123 bytes by RFC 6455; cut on a character boundary.
fn close_reason(reason: &str) -> Utf8Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Utf8Bytes::from(&reason[..end])
}

fn data_config(limit: usize) -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER).max_message_size(Some(limit)).max_frame_size(Some(limit))
}

// ---------------------------------------------------------------------------------------------------------
// Writer side

pub(crate) async fn connect(t: &ConnectTo<'_>) -> Result<(Sink, usize), ChannelError> {
    let channel: Arc<str> = t.channel.into();
    let refused =
        |reason: String| ChannelError::Refused { channel: t.channel.to_owned(), writer: t.writer.to_owned(), reason };
    let handshake = async {
        let stream = TcpStream::connect(t.addr).await.map_err(|source| ChannelError::Connect {
            channel: t.channel.to_owned(),
            addr: t.addr.to_string(),
            source,
        })?;
        let _ = stream.set_nodelay(true);
        // The writer only ever receives control messages (accept, close), so it keeps the small limits.
        let (mut ws, _) = client_async_with_config(format!("ws://{}/", t.addr), stream, Some(control_config()))
            .await
            .map_err(|e| refused(format!("WebSocket upgrade failed: {e}")))?;
        let hello = Hello {
            version: VERSION,
            secret: t.secret.to_owned(),
            channel: t.channel.to_owned(),
            writer: t.writer.to_owned(),
        };
        ws.send(WsMessage::Text(hello.to_json().into()))
            .await
            .map_err(|e| refused(format!("sending the hello failed: {e}")))?;
        match ws.next().await {
            Some(Ok(WsMessage::Text(accept))) => {
                let limit = parse_accept(accept.as_bytes()).map_err(refused)?;
                Ok((ws, limit))
            }
            Some(Ok(WsMessage::Close(Some(frame)))) => Err(refused(frame.reason.to_string())),
            Some(Ok(WsMessage::Close(None))) | None => {
                Err(refused("the endpoint closed the connection without an answer".into()))
            }
            Some(Ok(_)) => Err(refused("unexpected answer to the hello".into())),
            Some(Err(e)) => Err(refused(format!("reading the answer failed: {e}"))),
        }
    };
    let (ws, reader_limit) = timeout(t.limits.hello_timeout, handshake)
        .await
        .map_err(|_| refused(format!("no answer to the hello within {:?}", t.limits.hello_timeout)))??;
    let outbox = Arc::new(Outbox::new(t.limits.writer_buffer));
    let task = tokio::spawn(write_loop(ws, outbox.clone(), channel.clone()));
    Ok((Sink::Ws(NetSink::new(channel, outbox, task)), reader_limit))
}

async fn write_loop(mut ws: Ws, outbox: Arc<Outbox<Messages>>, channel: Arc<str>) -> Result<(), ChannelError> {
    let result = drive_writer(&mut ws, &outbox).await;
    if let Err(reason) = &result {
        outbox.fail(reason.clone());
    }
    result.map_err(|reason| ChannelError::ReaderVanished { channel: channel.to_string(), reason })
}

async fn drive_writer(ws: &mut Ws, outbox: &Outbox<Messages>) -> Result<(), String> {
    let mut batch = Messages::default();
    let mut unflushed = false;
    loop {
        outbox.linger(LINGER_UNTIL).await;
        let taken = outbox.take(&mut batch);
        if batch.0.is_empty() {
            // The queue ran empty: now, and only now, flush.
            if unflushed {
                ws.flush().await.map_err(write_failed)?;
                unflushed = false;
                continue;
            }
            if taken.closing {
                return finish_writer(ws).await;
            }
            if outbox.linger_idle().await {
                continue;
            }
            let heard = tokio::select! {
                _ = outbox.work() => None,
                m = ws.next() => Some(m),
            };
            if let Some(m) = heard {
                return Err(describe_unexpected(m));
            }
            continue;
        }
        // feed() only buffers; tungstenite writes to the socket whenever its buffer passes its threshold.
        for msg in batch.0.drain(..) {
            ws.feed(msg.into_ws()).await.map_err(write_failed)?;
        }
        unflushed = true;
    }
}

fn write_failed(e: WsError) -> String {
    format!("writing to the reader failed: {e}")
}

fn describe_unexpected(m: Option<Result<WsMessage, WsError>>) -> String {
    match m {
        None => "the reader closed the connection".to_owned(),
        Some(Ok(WsMessage::Close(Some(frame)))) => {
            format!("the reader closed the connection: {}", frame.reason)
        }
        Some(Ok(WsMessage::Close(None))) => "the reader closed the connection".to_owned(),
        Some(Ok(_)) => "the reader sent an unexpected message".to_owned(),
        Some(Err(e)) => format!("connection to the reader failed: {e}"),
    }
}

/// Sends a normal close frame and waits for the reader's close frame, which it sends once it has read every
/// earlier message.
async fn finish_writer(ws: &mut Ws) -> Result<(), String> {
    ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }))
        .await
        .map_err(|e| format!("sending the close frame failed: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Close(Some(frame)))) if frame.code != CloseCode::Normal => {
                return Err(format!("the reader closed the connection: {}", frame.reason))
            }
            Some(Ok(WsMessage::Close(_))) => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("no acknowledgement of the close ({e})")),
            None => return Err("no acknowledgement of the close (end of stream)".to_owned()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reader side

/// Upgrades, reads the hello text message and answers it. Until the writer is admitted the connection runs with
/// control-sized limits; it is then reopened with the channel's own limit.
pub(crate) async fn handshake(inner: &Inner, stream: TcpStream) -> Result<(Ws, Admitted), String> {
    let mut ws = accept_async_with_config(stream, Some(control_config()))
        .await
        .map_err(|e| format!("WebSocket upgrade failed: {e}"))?;
    let hello = match ws.next().await {
        Some(Ok(WsMessage::Text(text))) => Hello::parse(text.as_bytes())?,
        Some(Ok(_)) => return Err("first WebSocket message is not a text hello".into()),
        Some(Err(e)) => return Err(format!("no valid hello: {e}")),
        None => return Err("closed before its hello".into()),
    };
    match inner.admit(&hello) {
        Ok(admitted) => {
            ws.send(WsMessage::Text(accept_json(admitted.limit).into()))
                .await
                .map_err(|e| format!("sending the accept failed: {e}"))?;
            // The writer sends nothing until it has the accept, so tungstenite holds no unread bytes here.
            let stream = ws.into_inner();
            let ws = WebSocketStream::from_raw_socket(stream, Role::Server, Some(data_config(admitted.limit))).await;
            Ok((ws, admitted))
        }
        Err(Refusal { reason, tell_peer }) => {
            let told = if tell_peer { reason.as_str() } else { "refused" };
            let _ = ws.close(Some(CloseFrame { code: CloseCode::Policy, reason: close_reason(told) })).await;
            Err(reason)
        }
    }
}

pub(crate) async fn serve(mut ws: Ws, admitted: Admitted) {
    let Admitted { lane, channel, writer, .. } = admitted;
    let mut batch: Vec<Message> = Vec::new();
    let mut batch_bytes = 0usize;
    loop {
        let next = if batch.is_empty() {
            tokio::select! {
                m = ws.next() => m,
                _ = lane.closed() => return,
            }
        } else if batch_bytes >= BATCH_BYTES || batch.len() >= BATCH_MESSAGES {
            if send_batch(&lane, &mut batch, &mut batch_bytes, None).await.is_err() {
                return;
            }
            continue;
        } else if let Some(m) = ws.next().now_or_never() {
            // Already read from the socket: taken without racing it against the lane's room, which per
            // message cost as much as the parsing.
            m
        } else {
            // Reading first: while messages keep arriving the batch grows; it goes out when the socket runs
            // dry, or fills up.
            let room = tokio::select! {
                biased;
                m = ws.next() => Err(m),
                permit = lane.room(batch_bytes) => Ok(permit),
            };
            match room {
                Err(m) => m,
                Ok(None) => return,
                Ok(Some(permit)) => {
                    if send_batch(&lane, &mut batch, &mut batch_bytes, Some(permit)).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
        };
        let failure = match next {
            Some(Ok(WsMessage::Text(text))) => {
                batch_bytes += text.len() + 32;
                batch.push(Message::from_utf8_bytes(text));
                None
            }
            Some(Ok(WsMessage::Binary(bytes))) => {
                batch_bytes += bytes.len() + 32;
                batch.push(Message::bytes(bytes));
                None
            }
            Some(Ok(WsMessage::Close(_))) => {
                // tungstenite queued the close reply when it read the close frame; flushing sends it. As for
                // TCP, the acknowledgement means "all read", and the batch is handed over afterwards.
                let _ = ws.flush().await;
                drop(ws);
                let _ = send_batch(&lane, &mut batch, &mut batch_bytes, None).await;
                return;
            }
            Some(Ok(_)) => None,
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                Some(ChannelError::FrameTooLarge {
                    channel: channel.to_string(),
                    writer: writer.to_string(),
                    declared: size as u64,
                    limit: max_size,
                })
            }
            Some(Err(WsError::Utf8(e))) => Some(ChannelError::Protocol {
                channel: channel.to_string(),
                peer: format!("writer {writer}"),
                reason: format!("text message is not UTF-8: {e}"),
            }),
            Some(Err(e)) => Some(ChannelError::WriterVanished {
                channel: channel.to_string(),
                writer: writer.to_string(),
                reason: e.to_string(),
            }),
            None => Some(ChannelError::WriterVanished {
                channel: channel.to_string(),
                writer: writer.to_string(),
                reason: "end of stream without a close frame".into(),
            }),
        };
        if let Some(err) = failure {
            if !matches!(err, ChannelError::WriterVanished { .. }) {
                tracing::warn!(%channel, %writer, "closing connection: {err}");
                let _ = ws
                    .close(Some(CloseFrame { code: CloseCode::Policy, reason: close_reason(&err.to_string()) }))
                    .await;
            }
            if send_batch(&lane, &mut batch, &mut batch_bytes, None).await.is_ok() {
                let _ = lane.send(Item::Failed(Box::new(err))).await;
            }
            return;
        }
    }
}

/// Hands the batch to the reader, waiting for room unless `permit` already holds it.
async fn send_batch(
    lane: &NetLane,
    batch: &mut Vec<Message>,
    batch_bytes: &mut usize,
    permit: Option<OwnedSemaphorePermit>,
) -> Result<(), ()> {
    if batch.is_empty() {
        return Ok(());
    }
    let permit = match permit {
        Some(permit) => permit,
        None => lane.room(*batch_bytes).await.ok_or(())?,
    };
    *batch_bytes = 0;
    lane.send(Item::Batch(std::mem::take(batch), permit)).await
}
