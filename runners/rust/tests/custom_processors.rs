//! Processors defined here, run in this test process with `riffle_runner::serve` against the fake
//! orchestrator: panics, init errors, and arguments that misuse channel ends.

mod support;

use riffle_runner::{Config, Outcome, Processor, ProcessorError, Reader, Registry, Writer};
use serde::Deserialize;
use serde_json::{json, Value};
use support::*;

#[derive(Deserialize)]
struct Panics {
    #[allow(dead_code)]
    writer: Writer,
}

impl Processor for Panics {
    async fn run(self) -> Result<(), ProcessorError> {
        panic!("boom");
    }
}

#[derive(Deserialize)]
struct FailsInit {}

impl Processor for FailsInit {
    async fn init(&mut self) -> Result<(), ProcessorError> {
        Err(ProcessorError::msg("no configuration found"))
    }

    async fn run(self) -> Result<(), ProcessorError> {
        Ok(())
    }
}

#[derive(Deserialize)]
struct ReadsTwice {
    #[allow(dead_code)]
    first: Reader,
    #[allow(dead_code)]
    second: Reader,
}

impl Processor for ReadsTwice {
    async fn run(self) -> Result<(), ProcessorError> {
        Ok(())
    }
}

/// Sends three messages and returns without closing its writer: the runtime must close it.
#[derive(Deserialize)]
struct LeavesOpen {
    writer: Writer,
}

impl Processor for LeavesOpen {
    async fn run(mut self) -> Result<(), ProcessorError> {
        for text in ["a", "b", "c"] {
            self.writer.send_text(text).await?;
        }
        Ok(())
    }
}

fn registry() -> Registry {
    Registry::builtin()
        .with::<Panics>("Panics")
        .with::<FailsInit>("FailsInit")
        .with::<ReadsTwice>("ReadsTwice")
        .with::<LeavesOpen>("LeavesOpen")
}

fn config(fake: &Fake) -> Config {
    Config {
        control_url: fake.url.clone(),
        secret: SECRET.into(),
        runner_id: "rust".into(),
        data_listen: None,
        data_advertise: None,
        tls: None,
    }
}

/// Runs a session in this process and drives it to the first `failed`, which it returns, then stops it.
async fn first_failure(assign: Value, until_start: bool) -> Value {
    let fake = Fake::new().await;
    let session = tokio::spawn(riffle_runner::serve(registry(), config(&fake)));
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    let failed = if until_start {
        start(std::slice::from_mut(&mut conn), vec![assign]).await;
        conn.until("failed").await.0
    } else {
        conn.send(assign).await;
        let (listening, _) = conn.until("listening").await;
        conn.send(json!({ "type": "connect", "endpoints": { "rust": listening["endpoint"] } })).await;
        conn.until("wired").await;
        conn.send(json!({ "type": "init" })).await;
        conn.until("failed").await.0
    };
    conn.send(fixture("orchestrator/stop.json")).await;
    assert_eq!(conn.rest().await.last().unwrap()["type"], "bye");
    assert_eq!(within(session).await.unwrap().unwrap(), Outcome::Stopped);
    failed
}

#[tokio::test]
async fn a_panic_is_failed_with_location_and_backtrace() {
    let assign = json!({
        "type": "assign",
        "processors": [processor("urn:panics", "Panics", json!({ "writer": { "@writer": "urn:ch" } })), counter("urn:count", "urn:ch")],
        "channels": [channel("urn:ch", "memory", vec![end("urn:panics", "writer", "rust")], vec![end("urn:count", "reader", "rust")])],
    });
    let failed = first_failure(assign, true).await;
    assert_eq!(failed["processor"], "urn:panics");
    assert_eq!(failed["phase"], "produce");
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.starts_with("panicked at ") && message.contains("custom_processors.rs") && message.ends_with(": boom"),
        "{message}"
    );
    assert!(!failed["stack"].as_str().unwrap().is_empty(), "{failed}");
}

#[tokio::test]
async fn an_init_error_is_failed_in_phase_init() {
    let assign = json!({
        "type": "assign",
        "processors": [processor("urn:fails", "FailsInit", json!({}))],
        "channels": [],
    });
    let failed = first_failure(assign, false).await;
    assert_eq!(failed["processor"], "urn:fails");
    assert_eq!(failed["phase"], "init");
    assert_eq!(failed["message"], "no configuration found");
}

#[tokio::test]
async fn a_channel_end_used_twice_is_refused_by_name() {
    let assign = json!({
        "type": "assign",
        "processors": [
            generator("urn:gen", "urn:ch", 1),
            processor("urn:twice", "ReadsTwice", json!({ "first": { "@reader": "urn:ch" }, "second": { "@reader": "urn:ch" } })),
        ],
        "channels": [channel("urn:ch", "memory", vec![end("urn:gen", "writer", "rust")], vec![end("urn:twice", "first", "rust")])],
    });
    let failed = first_failure(assign, false).await;
    assert_eq!(failed["processor"], "urn:twice");
    assert_eq!(failed["phase"], "init");
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.starts_with("processor urn:twice (ReadsTwice): invalid arguments: the reader of channel urn:ch is used twice in the arguments of processor urn:twice"),
        "{message}"
    );
}

#[tokio::test]
async fn writers_left_open_are_closed_when_the_processor_ends() {
    let fake = Fake::new().await;
    let session = tokio::spawn(riffle_runner::serve(registry(), config(&fake)));
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    let assign = json!({
        "type": "assign",
        "processors": [processor("urn:open", "LeavesOpen", json!({ "writer": { "@writer": "urn:ch" } })), counter("urn:count", "urn:ch")],
        "channels": [channel("urn:ch", "memory", vec![end("urn:open", "writer", "rust")], vec![end("urn:count", "reader", "rust")])],
    });
    start(std::slice::from_mut(&mut conn), vec![assign]).await;
    let mut finished = Vec::new();
    while finished.len() < 2 {
        let message = conn.recv().await.unwrap();
        assert_ne!(message["type"], "failed", "{message}");
        if message["type"] == "finished" {
            finished.push(message["processor"].as_str().unwrap().to_owned());
        }
    }
    finished.sort();
    assert_eq!(finished, ["urn:count", "urn:open"]);
    conn.send(fixture("orchestrator/stop.json")).await;
    let rest = conn.rest().await;
    let stats = &rest[rest.len() - 2]["ends"];
    let reader = stats.as_array().unwrap().iter().find(|e| e["role"] == "reader").unwrap();
    assert_eq!((reader["messages"].as_u64(), reader["bytes"].as_u64()), (Some(3), Some(3)));
    assert_eq!(within(session).await.unwrap().unwrap(), Outcome::Stopped);
}

#[test]
fn a_reader_outside_the_runtime_is_a_clear_error() {
    let error = serde_json::from_value::<Reader>(json!({ "@reader": "urn:ch" })).unwrap_err();
    assert!(error.to_string().starts_with("live channel ends are only deserialised by the Riffle runtime"), "{error}");
    let error = serde_json::from_value::<Writer>(json!({ "writer": "urn:ch" })).unwrap_err();
    assert_eq!(error.to_string(), "missing field `@writer`");
    let error = serde_json::from_value::<Writer>(json!("urn:ch")).unwrap_err();
    assert!(error.to_string().contains(r#"expected a live writer, written {"@writer": "<channel id>"}"#), "{error}");
}
