//! One runner process against a fake orchestrator: the replay of `protocol/fixtures/session.jsonl` with a
//! self-contained pipeline, and the ways a session can go wrong.

mod support;

use serde_json::{json, Value};
use support::*;

const GEN: &str = "file:///pipelines/demo/gen";
const SINK: &str = "file:///pipelines/demo/sink";
const NUMBERS: &str = "file:///pipelines/demo/numbers";

/// The session of `session.jsonl`, with both processors in this runner and a memory channel between them.
fn local_assign(count: u64) -> Value {
    json!({
        "type": "assign",
        "processors": [generator(GEN, NUMBERS, count), counter(SINK, NUMBERS)],
        "channels": [channel(NUMBERS, "memory", vec![end(GEN, "writer", "rust")], vec![end(SINK, "reader", "rust")])],
    })
}

#[tokio::test]
async fn replays_the_session_with_a_local_pipeline() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;

    // The hello is the fixture's, but for what belongs to this process and run.
    let mut hello = conn.hello.clone();
    assert_eq!(hello["secret"], SECRET);
    assert_eq!(hello["runner"], "rust");
    assert_eq!(hello["pid"], process.child.id().unwrap());
    let mut expected = fixture("runner/hello.json");
    for field in ["pid", "secret", "runner"] {
        hello.as_object_mut().unwrap().remove(field);
        expected.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(hello, expected);

    conn.send(fixture("orchestrator/welcome.json")).await;
    conn.send(local_assign(1000)).await;
    let listening = conn.recv().await.unwrap();
    assert_eq!(listening["type"], "listening", "{listening}");
    let endpoint: std::net::SocketAddr = listening["endpoint"].as_str().unwrap().parse().unwrap();
    assert!(endpoint.ip().is_loopback() && endpoint.port() != 0);

    conn.send(json!({ "type": "connect", "endpoints": { "rust": endpoint.to_string() } })).await;
    assert_eq!(conn.recv().await.unwrap(), fixture("runner/wired.json"));
    conn.send(fixture("orchestrator/init.json")).await;
    assert_eq!(conn.recv().await.unwrap(), fixture("runner/initialised.json"));
    conn.send(fixture("orchestrator/start.json")).await;

    // Until both have finished: each processor's log line then its `finished`; the two processors' messages
    // may interleave, and `stats` may come at any time.
    let mut after_start = Vec::new();
    while after_start.iter().filter(|m: &&Value| m["type"] == "finished").count() < 2 {
        let message = conn.recv().await.expect("the runner closed before both finished");
        if message["type"] != "stats" {
            after_start.push(message);
        }
    }
    assert_eq!(
        of_processor(&after_start, GEN),
        [("log".to_owned(), "sent 1000 messages".to_owned()), ("finished".to_owned(), String::new())]
    );
    assert_eq!(
        of_processor(&after_start, SINK),
        [("log".to_owned(), "1000 messages, 64000 bytes".to_owned()), ("finished".to_owned(), String::new())]
    );
    assert_eq!(after_start.len(), 4, "nothing else was said: {after_start:?}");
    assert!(after_start.iter().filter(|m| m["type"] == "log").all(|m| m["level"] == "info"));

    conn.send(json!({ "type": "stop", "reason": "every processor finished" })).await;
    let rest: Vec<Value> = conn.rest().await;
    let kinds: Vec<&str> = rest.iter().map(|m| m["type"].as_str().unwrap()).collect();
    // Stats from the timer may still come before the final ones.
    let last_two = &kinds[kinds.len().saturating_sub(2)..];
    assert_eq!(last_two, ["stats", "bye"], "{rest:?}");
    assert!(kinds[..kinds.len() - 2].iter().all(|k| *k == "stats"), "{rest:?}");
    let mut ends = rest[rest.len() - 2]["ends"].as_array().unwrap().clone();
    ends.sort_by_key(|e| e["role"].as_str().unwrap().to_owned());
    // The writer's wait for room depends on the machine; that it is reported does not.
    let blocked = ends[1].as_object_mut().unwrap().remove("blocked_us");
    assert!(blocked.as_ref().is_some_and(Value::is_u64), "{blocked:?}");
    assert_eq!(
        ends,
        [
            json!({ "channel": NUMBERS, "processor": SINK, "role": "reader", "messages": 1000, "bytes": 64000 }),
            json!({ "channel": NUMBERS, "processor": GEN, "role": "writer", "messages": 1000, "bytes": 64000 }),
        ]
    );
    assert_eq!(rest.last().unwrap(), &fixture("runner/bye.json"));

    let (status, stderr) = process.exit().await;
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}

#[tokio::test]
async fn an_unknown_class_fails_init_and_names_it() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    let nope = processor("file:///p/nope", "Nope", json!({}));
    conn.send(json!({ "type": "assign", "processors": [nope], "channels": [] })).await;
    let (listening, _) = conn.until("listening").await;
    conn.send(json!({ "type": "connect", "endpoints": { "rust": listening["endpoint"] } })).await;
    conn.until("wired").await;
    conn.send(json!({ "type": "init" })).await;
    assert_eq!(
        conn.recv().await.unwrap(),
        json!({
            "type": "failed",
            "processor": "file:///p/nope",
            "phase": "init",
            "message": "processor file:///p/nope needs class \"Nope\", which this runner does not provide \
                        (it provides: ConformanceArguments, ConformanceCrash, ConformanceFail, ConformanceSlow, \
                        Counter, FileReader, FileWriter, Generator, Log, PassThrough)",
            "stack": null,
        })
    );
    conn.send(fixture("orchestrator/stop.json")).await;
    let rest = conn.rest().await;
    assert_eq!(rest.last().unwrap()["type"], "bye");
    let (status, stderr) = process.exit().await;
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}

#[tokio::test]
async fn bad_arguments_fail_init_naming_the_processor() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    let mut assign = local_assign(10);
    assign["processors"][0]["arguments"]["count"] = json!("many");
    conn.send(assign).await;
    let (listening, _) = conn.until("listening").await;
    conn.send(json!({ "type": "connect", "endpoints": { "rust": listening["endpoint"] } })).await;
    conn.until("wired").await;
    conn.send(json!({ "type": "init" })).await;
    let failed = conn.recv().await.unwrap();
    assert_eq!(failed["type"], "failed");
    assert_eq!(failed["processor"], GEN);
    assert_eq!(failed["phase"], "init");
    let message = failed["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("processor {GEN} (Generator): invalid arguments: ")), "{message}");
    assert!(message.contains("\"many\""), "{message}");
    conn.send(fixture("orchestrator/stop.json")).await;
    conn.rest().await;
    assert_eq!(process.exit().await.0.code(), Some(0));
}

#[tokio::test]
async fn a_processor_error_is_failed_with_its_phase_and_cause() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    let reader = processor(
        "file:///p/read",
        "FileReader",
        json!({ "path": "/no/such/riffle/input.txt", "writer": { "@writer": NUMBERS }, "lines": false }),
    );
    let assign = json!({
        "type": "assign",
        "processors": [reader, counter(SINK, NUMBERS)],
        "channels": [channel(NUMBERS, "memory", vec![end("file:///p/read", "writer", "rust")], vec![end(SINK, "reader", "rust")])],
    });
    start(std::slice::from_mut(&mut conn), vec![assign]).await;
    let failed = loop {
        let message = conn.recv().await.unwrap();
        if message["type"] == "failed" {
            break message;
        }
    };
    assert_eq!(failed["processor"], "file:///p/read");
    assert_eq!(failed["phase"], "produce");
    assert!(failed["message"].as_str().unwrap().starts_with("cannot read /no/such/riffle/input.txt: "), "{failed}");
    assert!(failed["stack"].as_str().unwrap().starts_with("caused by: "), "{failed}");
    conn.send(fixture("orchestrator/stop.json")).await;
    conn.rest().await;
    assert_eq!(process.exit().await.0.code(), Some(0));
}

#[tokio::test]
async fn the_runner_exits_when_the_orchestrator_vanishes() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    // A generator that would run for hours: the runner must not wait for it.
    start(std::slice::from_mut(&mut conn), vec![local_assign(u64::MAX)]).await;
    let (_stats, _) = conn.until("stats").await;
    drop(conn);
    let (status, stderr) = process.exit().await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("the orchestrator went away"), "stderr: {stderr}");
}

#[tokio::test]
async fn sigterm_stops_with_bye() {
    let fake = Fake::new().await;
    let process = fake.spawn("rust");
    let mut conn = fake.accept().await;
    conn.send(fixture("orchestrator/welcome.json")).await;
    start(std::slice::from_mut(&mut conn), vec![local_assign(u64::MAX)]).await;
    conn.until("stats").await;
    let pid = process.child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let rest = conn.rest().await;
    let kinds: Vec<&str> = rest.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["stats", "bye"], "{rest:?}");
    let (status, stderr) = process.exit().await;
    assert_eq!(status.code(), Some(143), "stderr: {stderr}");
}

#[tokio::test]
async fn a_refused_runner_exits_non_zero_and_says_why() {
    let fake = Fake::new().await;
    let process = fake.spawn_with("rust", "not-the-secret");
    let mut conn = fake.accept().await;
    assert_eq!(conn.hello["secret"], "not-the-secret");
    conn.send(fixture("orchestrator/refused.json")).await;
    conn.close().await;
    let (status, stderr) = process.exit().await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim(), "riffle-runner-rust: the orchestrator refused this runner: wrong secret");
}

#[tokio::test]
async fn without_its_environment_the_runner_says_what_is_missing() {
    let output = tokio::process::Command::new(runner_binary()).env_remove("RIFFLE_CONTROL_URL").output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("riffle-runner-rust: RIFFLE_CONTROL_URL is not set"), "{stderr}");
}
