//! A fake orchestrator: the control side of `docs/protocol.md`, just enough to drive real runner processes
//! through a run and record what they say. Timeouts here are safety nets against a hung test, never a way
//! to wait for something to happen.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Longest any single step may take before the test is declared hung.
pub const SAFETY: Duration = Duration::from_secs(60);

pub const SECRET: &str = "5e0c3a9b1d2f4e6a8c0b1d3f5a7c9e1b2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c";

pub fn fixture(path: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocol/fixtures").join(path);
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

pub fn runner_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_riffle-runner-rust"))
}

/// The orchestrator's control endpoint.
pub struct Fake {
    listener: TcpListener,
    pub url: String,
}

/// A started runner process.
pub struct Process {
    pub child: Child,
}

/// One runner's control connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    pub hello: Value,
    pub runner: String,
}

impl Fake {
    pub async fn new() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        Fake { listener, url }
    }

    /// Starts the runner binary as runner instance `id`, as `riffle run` would.
    pub fn spawn(&self, id: &str) -> Process {
        self.spawn_with(id, SECRET)
    }

    pub fn spawn_with(&self, id: &str, secret: &str) -> Process {
        let child = Command::new(runner_binary())
            .env("RIFFLE_CONTROL_URL", &self.url)
            .env("RIFFLE_SECRET", secret)
            .env("RIFFLE_RUNNER_ID", id)
            .env_remove("RIFFLE_DATA_LISTEN")
            .env_remove("RIFFLE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start riffle-runner-rust");
        Process { child }
    }

    /// Accepts the next runner and reads its hello.
    pub async fn accept(&self) -> Conn {
        let (stream, _) = within(self.listener.accept()).await.unwrap();
        let ws = within(tokio_tungstenite::accept_async(stream)).await.unwrap();
        let mut conn = Conn { ws, hello: Value::Null, runner: String::new() };
        let hello = conn.recv().await.expect("a hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        conn.runner = hello["runner"].as_str().unwrap().to_owned();
        conn.hello = hello;
        conn
    }

    /// Accepts `n` runners and welcomes them, in the order of `ids`.
    pub async fn accept_all(&self, ids: &[&str]) -> Vec<Conn> {
        let mut conns = Vec::new();
        for _ in ids {
            let mut conn = self.accept().await;
            conn.send(fixture("orchestrator/welcome.json")).await;
            conns.push(conn);
        }
        conns.sort_by_key(|c| ids.iter().position(|id| *id == c.runner).expect("a known runner id"));
        conns
    }
}

impl Conn {
    pub async fn send(&mut self, message: Value) {
        within(self.ws.send(Message::text(message.to_string()))).await.unwrap();
    }

    /// The next message; `None` once the runner closed the connection.
    pub async fn recv(&mut self) -> Option<Value> {
        loop {
            match within(self.ws.next()).await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(text.as_str()).unwrap()),
                Some(Ok(other)) => assert!(!other.is_binary(), "a binary control frame"),
            }
        }
    }

    /// Reads until a message of type `kind`, returning it and what came before it.
    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let message =
                self.recv().await.unwrap_or_else(|| panic!("{}: closed while waiting for {kind}", self.runner));
            if message["type"] == kind {
                return (message, before);
            }
            assert_ne!(message["type"], "failed", "{}: {message}", self.runner);
            before.push(message);
        }
    }

    /// Everything until the runner closes the connection.
    pub async fn rest(&mut self) -> Vec<Value> {
        let mut all = Vec::new();
        while let Some(message) = self.recv().await {
            all.push(message);
        }
        all
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

impl Process {
    /// Waits for the process to exit and returns its status and stderr.
    pub async fn exit(mut self) -> (ExitStatus, String) {
        let mut stderr = self.child.stderr.take().unwrap();
        let status = within(self.child.wait()).await.unwrap();
        let mut text = String::new();
        within(stderr.read_to_string(&mut text)).await.unwrap();
        (status, text)
    }
}

pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(SAFETY, future).await.expect("the test hung")
}

/// A channel end, as `assign` lists them.
pub fn end(processor: &str, argument: &str, runner: &str) -> Value {
    json!({ "processor": processor, "argument": argument, "runner": runner })
}

pub fn channel(id: &str, transport: &str, writers: Vec<Value>, readers: Vec<Value>) -> Value {
    json!({ "id": id, "transport": transport, "writers": writers, "readers": readers })
}

pub fn processor(id: &str, class: &str, arguments: Value) -> Value {
    json!({
        "id": id,
        "class": format!("https://w3id.org/riffle#{class}"),
        "implementation": { "class": class },
        "arguments": arguments,
    })
}

pub fn generator(id: &str, channel: &str, count: u64) -> Value {
    processor(id, "Generator", json!({ "writer": { "@writer": channel }, "count": count, "size": 64, "text": true }))
}

pub fn counter(id: &str, channel: &str) -> Value {
    processor(id, "Counter", json!({ "reader": { "@reader": channel } }))
}

/// The messages of `messages` that concern processor `id`, as `(type, message text)`.
pub fn of_processor(messages: &[Value], id: &str) -> Vec<(String, String)> {
    messages
        .iter()
        .filter(|m| m["processor"] == id)
        .map(|m| (m["type"].as_str().unwrap().to_owned(), m["message"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Drives every runner through assign, connect, init and start. `assigns` are in the order of `conns`.
/// Returns what each said before `initialised` other than the expected replies.
pub async fn start(conns: &mut [Conn], assigns: Vec<Value>) {
    let mut endpoints = serde_json::Map::new();
    for (conn, assign) in conns.iter_mut().zip(assigns) {
        conn.send(assign).await;
        let (listening, _) = conn.until("listening").await;
        endpoints.insert(conn.runner.clone(), listening["endpoint"].clone());
    }
    for conn in conns.iter_mut() {
        conn.send(json!({ "type": "connect", "endpoints": endpoints })).await;
    }
    for conn in conns.iter_mut() {
        conn.until("wired").await;
    }
    for conn in conns.iter_mut() {
        conn.send(json!({ "type": "init" })).await;
    }
    for conn in conns.iter_mut() {
        conn.until("initialised").await;
    }
    for conn in conns.iter_mut() {
        conn.send(json!({ "type": "start" })).await;
    }
}
