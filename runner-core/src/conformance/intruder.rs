//! A stranger at the door: while a kit pipeline runs, connections to the tested runner's data endpoint
//! that carry a wrong secret, over TCP framing and over WebSocket (`channels/FRAMING.md`). Both must be
//! closed without an accept, and the run must go on unharmed.

use crate::live::Live;
use crate::plan::Processor;
use crate::run::orchestrator::ProcessorState;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// How long the endpoint has to close a refused connection.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How long the tested processor has to be running at all.
const RUNNING_WITHIN: Duration = Duration::from_secs(60);

/// Waits until `processor` runs, then knocks twice with a wrong secret. Ok: what happened, for the report.
pub async fn intrude(live: Live, processor: Processor) -> Result<String, String> {
    let endpoint = tokio::time::timeout(RUNNING_WITHIN, running_endpoint(&live, &processor))
        .await
        .map_err(|_| format!("{} was not running within {} s", processor.id, RUNNING_WITHIN.as_secs()))??;
    let hello = serde_json::json!({
        "version": 1,
        "secret": "0".repeat(64),
        "channel": "urn:riffle:conformance:intruder",
        "writer": "intruder",
    })
    .to_string();
    let tcp = tcp_knock(&endpoint, &hello).await.map_err(|why| format!("TCP: {why}"))?;
    let ws = ws_knock(&endpoint, &hello).await.map_err(|why| format!("WebSocket: {why}"))?;
    Ok(format!("wrong secret refused at {endpoint} (TCP: {tcp}; WebSocket: {ws})"))
}

async fn running_endpoint(live: &Live, processor: &Processor) -> Result<String, String> {
    loop {
        {
            let snapshot = live.lock();
            if let Some((outcome, _)) = snapshot.ended {
                return Err(format!("the run {outcome} before {} was seen running", processor.id));
            }
            let running =
                snapshot.processors.iter().any(|p| p.id == processor.id && p.state == ProcessorState::Running);
            if let (true, Some(endpoint)) = (running, snapshot.endpoints.get(&processor.runner)) {
                return Ok(endpoint.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A hello frame with the wrong secret: the endpoint must close without a word.
async fn tcp_knock(endpoint: &str, hello: &str) -> Result<&'static str, String> {
    let mut stream = TcpStream::connect(endpoint).await.map_err(|e| format!("cannot connect: {e}"))?;
    let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
    frame.push(1);
    frame.extend_from_slice(hello.as_bytes());
    stream.write_all(&frame).await.map_err(|e| format!("cannot send the hello: {e}"))?;
    let mut answer = [0u8; 5];
    match tokio::time::timeout(ANSWER_WITHIN, stream.read(&mut answer)).await {
        Err(_) => Err(format!("the connection was still open {} s after the hello", ANSWER_WITHIN.as_secs())),
        Ok(Ok(0)) => Ok("closed"),
        Ok(Err(_)) => Ok("reset"),
        Ok(Ok(_)) => match answer[4] {
            2 => Err("the endpoint ACCEPTED a writer with a wrong secret".into()),
            3 => Err("the endpoint answered REFUSE; a wrong secret must get no answer, only a close".into()),
            kind => Err(format!("the endpoint answered a frame of kind {kind}; it must only close")),
        },
    }
}

/// A WebSocket hello with the wrong secret: the endpoint must close, with status 1008.
async fn ws_knock(endpoint: &str, hello: &str) -> Result<&'static str, String> {
    let stream = TcpStream::connect(endpoint).await.map_err(|e| format!("cannot connect: {e}"))?;
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{endpoint}/"), stream)
        .await
        .map_err(|e| format!("the upgrade failed: {e}"))?;
    socket.send(Message::text(hello)).await.map_err(|e| format!("cannot send the hello: {e}"))?;
    match tokio::time::timeout(ANSWER_WITHIN, socket.next()).await {
        Err(_) => Err(format!("the connection was still open {} s after the hello", ANSWER_WITHIN.as_secs())),
        Ok(Some(Ok(Message::Close(Some(frame))))) if frame.code == CloseCode::Policy => Ok("closed with 1008"),
        Ok(Some(Ok(Message::Close(frame)))) => Err(format!(
            "closed with {}; a wrong secret must be closed with 1008 (policy violation)",
            frame.map(|f| u16::from(f.code).to_string()).unwrap_or_else(|| "no status".into())
        )),
        Ok(Some(Ok(Message::Text(_)))) => Err("the endpoint ACCEPTED a writer with a wrong secret".into()),
        Ok(Some(Ok(other))) => Err(format!("the endpoint answered {other:?}; it must only close")),
        Ok(None) | Ok(Some(Err(_))) => {
            Err("the connection ended without a close frame; it must close with 1008".into())
        }
    }
}
