//! The control endpoint: runners dial in over WebSocket, prove they belong to the run with its
//! secret, and then exchange protocol messages with the orchestrator.

use super::event::Event;
use futures_util::{SinkExt, StreamExt};
use riffle_channels::Link;
use riffle_protocol::{secrets_match, OrchestratorMessage, RunnerMessage, VERSION};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::Message;

/// How long a connection may take to upgrade and say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections still handshaking at once; more wait, so a flood cannot eat memory.
const MAX_HANDSHAKES: usize = 64;

pub struct ControlServer {
    pub secret: String,
    pub run: String,
    /// Runner ids of the plan; each may connect once.
    pub expected: HashSet<String>,
    /// Silence after which a runner counts as gone ([`super::RunOptions::heartbeat`]).
    pub heartbeat: Option<Duration>,
    /// In an encrypted run: every connection is TLS, presenting the run's certificate.
    pub tls: Option<riffle_channels::RunTls>,
}

impl ControlServer {
    pub fn serve(self, listener: TcpListener, events: mpsc::UnboundedSender<Event>) {
        let server = Arc::new(self);
        let claimed = Arc::new(Mutex::new(HashSet::new()));
        let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else { continue };
                let Ok(reached) = stream.local_addr() else { continue };
                let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
                let (server, claimed, events) = (server.clone(), claimed.clone(), events.clone());
                tokio::spawn(async move {
                    let connection = tokio::time::timeout(HELLO_TIMEOUT, handshake(&server, &claimed, stream)).await;
                    drop(permit);
                    match connection {
                        Ok(Ok((runner, ws))) => {
                            converse(runner, Route { peer, reached }, ws, server.heartbeat, events).await
                        }
                        Ok(Err(reason)) => drop(events.send(Event::Refused { reason: format!("{peer}: {reason}") })),
                        Err(_) => {
                            let reason = format!("{peer}: no hello within {} s", HELLO_TIMEOUT.as_secs());
                            drop(events.send(Event::Refused { reason }));
                        }
                    }
                });
            }
        });
    }
}

type Ws = tokio_tungstenite::WebSocketStream<Link>;

async fn handshake(
    server: &ControlServer,
    claimed: &Mutex<HashSet<String>>,
    stream: TcpStream,
) -> Result<(String, Ws), String> {
    // Control messages are small and each waits for an answer: without this, Nagle's algorithm and
    // delayed ACKs hold some back for 40 ms, several times over in a run's start.
    let _ = stream.set_nodelay(true);
    let stream = match &server.tls {
        None => Link::Plain(stream),
        Some(tls) => {
            Link::tls(tls.accept(stream).await.map_err(|e| format!("no TLS handshake (this run is encrypted): {e}"))?)
        }
    };
    let mut ws = tokio_tungstenite::accept_async(stream).await.map_err(|e| format!("not a WebSocket: {e}"))?;
    let first = match ws.next().await {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(_)) => return Err("the first message was not text".into()),
        Some(Err(e)) => return Err(format!("connection failed before hello: {e}")),
        None => return Err("closed before hello".into()),
    };
    let refusal = match serde_json::from_str::<RunnerMessage>(&first) {
        Ok(RunnerMessage::Hello { protocol, secret, runner, .. }) => {
            if !secrets_match(&server.secret, &secret) {
                // Said to no one but our own log: a stranger learns nothing about the run.
                return Err("wrong secret".into());
            }
            if protocol != VERSION {
                Some((
                    runner,
                    format!("protocol version {protocol} is not supported; this orchestrator speaks {VERSION}"),
                ))
            } else if !server.expected.contains(&runner) {
                let mut known: Vec<&String> = server.expected.iter().collect();
                known.sort();
                Some((
                    runner.clone(),
                    format!("no runner instance \"{runner}\" in this run (expected one of {known:?})"),
                ))
            } else if !claimed.lock().map_err(|_| "internal lock poisoned")?.insert(runner.clone()) {
                Some((runner.clone(), format!("runner instance \"{runner}\" is already connected")))
            } else {
                let heartbeat_ms = server.heartbeat.map(|h| h.as_millis() as u64);
                let welcome = OrchestratorMessage::Welcome { protocol: VERSION, run: server.run.clone(), heartbeat_ms };
                send(&mut ws, &welcome).await.map_err(|e| format!("cannot welcome {runner}: {e}"))?;
                return Ok((runner, ws));
            }
        }
        Ok(_) => return Err("the first message was not a hello".into()),
        Err(e) => return Err(format!("the first message is not a protocol message: {e}")),
    };
    let (runner, reason) = refusal.expect("every other branch returned");
    let _ = send(&mut ws, &OrchestratorMessage::Refused { reason: reason.clone() }).await;
    let _ = ws.close(None).await;
    Err(format!("runner \"{runner}\" refused: {reason}"))
}

async fn send(ws: &mut Ws, message: &OrchestratorMessage) -> Result<(), String> {
    let text = serde_json::to_string(message).map_err(|e| e.to_string())?;
    ws.send(Message::text(text)).await.map_err(|e| e.to_string())
}

/// Pings go out this many times per heartbeat deadline, so a few lost to a busy peer do not matter.
const PINGS_PER_DEADLINE: u32 = 5;

/// The two ends of a runner's control connection.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The runner's side.
    pub peer: SocketAddr,
    /// Ours: the address the runner reached the orchestrator at, so one this runner's host can reach.
    pub reached: SocketAddr,
}

async fn converse(
    runner: String,
    route: Route,
    mut ws: Ws,
    heartbeat: Option<Duration>,
    events: mpsc::UnboundedSender<Event>,
) {
    let (to_runner, mut outgoing) = mpsc::unbounded_channel();
    let peer = route.peer;
    if events.send(Event::Connected { runner: runner.clone(), to_runner, route }).is_err() {
        return;
    }
    // Without a heartbeat the ticker still runs, rarely, and nobody is ever found silent.
    let deadline = heartbeat.unwrap_or(Duration::from_secs(3600));
    let every = (deadline / PINGS_PER_DEADLINE).max(Duration::from_millis(20));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    let mut silent = false;
    let reason = loop {
        tokio::select! {
            message = outgoing.recv() => match message {
                Some(message) => {
                    if let Err(e) = send(&mut ws, &message).await {
                        break format!("sending failed: {e}");
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    break "closed by the orchestrator".to_string();
                }
            },
            // The moment the deadline passes, not the next tick: the bound users are promised is the
            // deadline plus the stop.
            _ = tokio::time::sleep_until(heard + deadline), if heartbeat.is_some() => {
                silent = true;
                break silence(peer, heard);
            },
            _ = ticker.tick(), if heartbeat.is_some() => {
                // A ping that cannot be sent before the deadline (the peer's window is full) is silence too.
                match tokio::time::timeout_at(heard + deadline, ws.send(Message::Ping(Vec::new().into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => break format!("sending a heartbeat failed: {e}"),
                    Err(_) => {
                        silent = true;
                        break silence(peer, heard);
                    }
                }
            },
            incoming = ws.next() => {
                heard = tokio::time::Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<RunnerMessage>(&text) {
                        Ok(message) => {
                            if events.send(Event::Message { runner: runner.clone(), message }).is_err() {
                                break "the run is over".to_string();
                            }
                        }
                        Err(e) => {
                            let _ = ws.close(None).await;
                            break format!("protocol error: {e}: {text}");
                        }
                    },
                    Some(Ok(Message::Close(_))) | None => break "the connection closed".to_string(),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("the connection failed: {e}"),
                }
            },
        }
    };
    let _ = events.send(Event::Disconnected { runner, reason, silent });
}

/// Why a runner counts as gone when nothing has come from it since `heard`.
fn silence(peer: SocketAddr, heard: tokio::time::Instant) -> String {
    format!(
        "its host {} has been silent for {:.1} s: no answer to heartbeats (--heartbeat-timeout)",
        peer.ip(),
        heard.elapsed().as_secs_f64()
    )
}

/// Binds the control endpoint; loopback unless the user asked otherwise.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
