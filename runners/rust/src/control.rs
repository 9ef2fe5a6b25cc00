//! The control connection: one WebSocket to the orchestrator, JSON text frames both ways
//! (`docs/protocol.md`).
//!
//! Outgoing messages go through a bounded queue drained by one task that owns the socket's sending half, so
//! that processors, the stats timer and the session loop can all send without sharing a lock, and so that
//! everything queued before `bye` is on the wire before the connection closes.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use riffle_channels::{Link, RunTls};
use riffle_protocol::{OrchestratorMessage, RunnerMessage};
use std::net::IpAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

use crate::logging::QUEUE;
use crate::RunnerError;

type Socket = WebSocketStream<Link>;

/// The receiving half of the control connection. A task of its own reads the socket, so that pings are
/// answered (and silence noticed) while the session is busy, in a processor's init for example.
pub(crate) struct Incoming {
    rx: mpsc::UnboundedReceiver<Result<Option<OrchestratorMessage>, RunnerError>>,
}

/// The sending half: a queue, and the task that drains it into the socket.
pub(crate) struct Outgoing {
    pub(crate) tx: mpsc::Sender<RunnerMessage>,
    pub(crate) task: JoinHandle<Result<(), String>>,
}

/// Dials the orchestrator; also returns this side's address of the connection: the address peers on
/// the orchestrator's side can reach this host at.
/// In an encrypted run (`tls`), over TLS to an orchestrator that must present the run's certificate.
pub(crate) async fn connect(url: &str, tls: Option<&RunTls>) -> Result<(Incoming, Outgoing, IpAddr), RunnerError> {
    let failed = |e: std::io::Error| RunnerError::Connect { url: url.to_owned(), source: Box::new(e.into()) };
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or(authority);
    let tcp = TcpStream::connect(authority).await.map_err(failed)?;
    // Control messages are small and latency matters more than packing them: no Nagle delay.
    tcp.set_nodelay(true).map_err(failed)?;
    let local_ip = tcp.local_addr().map_err(failed)?.ip();
    let link = match tls {
        None => Link::Plain(tcp),
        Some(tls) => {
            let peer = tcp.peer_addr().map_err(failed)?;
            Link::tls(tls.connect(tcp, peer).await.map_err(failed)?)
        }
    };
    let (socket, _response) = tokio_tungstenite::client_async(url, link)
        .await
        .map_err(|e| RunnerError::Connect { url: url.to_owned(), source: Box::new(e) })?;
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(drain(rx, sink));
    let (messages, incoming) = mpsc::unbounded_channel();
    tokio::spawn(read(stream, messages));
    Ok((Incoming { rx: incoming }, Outgoing { tx, task }, local_ip))
}

impl Incoming {
    /// The next message; `Ok(None)` when the orchestrator closed the connection.
    pub(crate) async fn next(&mut self) -> Result<Option<OrchestratorMessage>, RunnerError> {
        self.rx.recv().await.unwrap_or(Ok(None))
    }
}

/// Reads frames until the connection ends, a frame breaks the protocol, or the orchestrator is silent past
/// the heartbeat deadline `welcome` gave; each of those is the last thing sent.
async fn read(
    mut stream: SplitStream<Socket>,
    messages: mpsc::UnboundedSender<Result<Option<OrchestratorMessage>, RunnerError>>,
) {
    let mut deadline: Option<Duration> = None;
    let mut heard = Instant::now();
    loop {
        let frame = match deadline {
            None => stream.next().await,
            Some(deadline) => match tokio::time::timeout_at(heard + deadline, stream.next()).await {
                Ok(frame) => frame,
                Err(_) => {
                    let _ = messages.send(Err(RunnerError::OrchestratorSilent(heard.elapsed())));
                    return;
                }
            },
        };
        heard = Instant::now();
        let message = match frame {
            None | Some(Ok(Ws::Close(_))) => Ok(None),
            Some(Err(e)) => Err(RunnerError::ControlLost(e.to_string())),
            Some(Ok(Ws::Text(text))) => serde_json::from_str(text.as_str())
                .map(Some)
                .map_err(|e| RunnerError::Protocol(format!("{e} in {}", text.as_str()))),
            Some(Ok(Ws::Binary(_))) => {
                Err(RunnerError::Protocol("a binary frame; every message is a JSON text frame".into()))
            }
            // Pings are answered by tungstenite itself as it reads; pongs and raw frames carry nothing.
            Some(Ok(_)) => continue,
        };
        if let Ok(Some(OrchestratorMessage::Welcome { heartbeat_ms: Some(ms), .. })) = &message {
            deadline = Some(Duration::from_millis((*ms).max(1)));
        }
        let last = !matches!(message, Ok(Some(_)));
        if messages.send(message).is_err() || last {
            return;
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
