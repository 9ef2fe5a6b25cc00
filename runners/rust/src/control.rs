//! The control connection: one WebSocket to the orchestrator, JSON text frames both ways
//! (`docs/protocol.md`).
//!
//! Outgoing messages go through a bounded queue drained by one task that owns the socket's sending half, so
//! that processors, the stats timer and the session loop can all send without sharing a lock, and so that
//! everything queued before `bye` is on the wire before the connection closes.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use riffle_protocol::{OrchestratorMessage, RunnerMessage};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::logging::QUEUE;
use crate::RunnerError;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The receiving half of the control connection.
pub(crate) struct Incoming {
    stream: SplitStream<Socket>,
}

/// The sending half: a queue, and the task that drains it into the socket.
pub(crate) struct Outgoing {
    pub(crate) tx: mpsc::Sender<RunnerMessage>,
    pub(crate) task: JoinHandle<Result<(), String>>,
}

/// Dials the orchestrator.
pub(crate) async fn connect(url: &str) -> Result<(Incoming, Outgoing), RunnerError> {
    // Control messages are small and latency matters more than packing them: no Nagle delay.
    let (socket, _response) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| RunnerError::Connect { url: url.to_owned(), source: Box::new(e) })?;
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(drain(rx, sink));
    Ok((Incoming { stream }, Outgoing { tx, task }))
}

impl Incoming {
    /// The next message; `Ok(None)` when the orchestrator closed the connection.
    pub(crate) async fn next(&mut self) -> Result<Option<OrchestratorMessage>, RunnerError> {
        loop {
            match self.stream.next().await {
                None | Some(Ok(Ws::Close(_))) => return Ok(None),
                Some(Err(e)) => return Err(RunnerError::ControlLost(e.to_string())),
                Some(Ok(Ws::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .map_err(|e| RunnerError::Protocol(format!("{e} in {}", text.as_str())))
                }
                Some(Ok(Ws::Binary(_))) => {
                    return Err(RunnerError::Protocol("a binary frame; every message is a JSON text frame".into()))
                }
                // Pings are answered by tungstenite itself; pongs and raw frames carry nothing for us.
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// Sends queued messages, flushing whenever the queue runs empty; closes the socket after `bye`.
async fn drain(mut rx: mpsc::Receiver<RunnerMessage>, mut sink: SplitSink<Socket, Ws>) -> Result<(), String> {
    while let Some(first) = rx.recv().await {
        let mut bye = false;
        let mut next = Some(first);
        while let Some(message) = next {
            bye |= matches!(message, RunnerMessage::Bye);
            let text = serde_json::to_string(&message).map_err(|e| e.to_string())?;
            sink.feed(Ws::text(text)).await.map_err(|e| e.to_string())?;
            next = if bye { None } else { rx.try_recv().ok() };
        }
        sink.flush().await.map_err(|e| e.to_string())?;
        if bye {
            break;
        }
    }
    sink.close().await.map_err(|e| e.to_string())
}
