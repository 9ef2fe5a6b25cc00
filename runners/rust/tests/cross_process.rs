//! Two runner processes exchanging data directly over TCP or WebSocket, with the fake orchestrator only
//! relaying their endpoints.

mod support;

use serde_json::{json, Value};
use support::*;

const GEN: &str = "urn:test:gen";
const COUNT: &str = "urn:test:count";
const CH: &str = "urn:test:numbers";

async fn generate_in_one_count_in_the_other(transport: &str, count: u64) {
    let fake = Fake::new().await;
    let a = fake.spawn("gen");
    let b = fake.spawn("count");
    let mut conns = fake.accept_all(&["gen", "count"]).await;
    let ch = channel(CH, transport, vec![end(GEN, "writer", "gen")], vec![end(COUNT, "reader", "count")]);
    let assigns = vec![
        json!({ "type": "assign", "processors": [generator(GEN, CH, count)], "channels": [ch.clone()] }),
        json!({ "type": "assign", "processors": [counter(COUNT, CH)], "channels": [ch] }),
    ];
    start(&mut conns, assigns).await;

    let (_, before) = conns[0].until("finished").await;
    assert_eq!(of_processor(&before, GEN), [("log".to_owned(), format!("sent {count} messages"))]);
    let (_, before) = conns[1].until("finished").await;
    assert_eq!(of_processor(&before, COUNT), [("log".to_owned(), format!("{count} messages, {} bytes", count * 64))]);

    for (conn, (role, processor)) in conns.iter_mut().zip([("writer", GEN), ("reader", COUNT)]) {
        conn.send(json!({ "type": "stop", "reason": "every processor finished" })).await;
        let rest = conn.rest().await;
        assert_eq!(rest.last().unwrap()["type"], "bye");
        let mut stats = rest[rest.len() - 2].clone();
        // How long the writer waited for room depends on the machine; that it is reported does not.
        let blocked = stats["ends"][0].as_object_mut().unwrap().remove("blocked_us");
        assert_eq!(blocked.as_ref().is_some_and(|b| b.is_u64()), role == "writer", "{blocked:?}");
        assert_eq!(
            stats["ends"],
            json!([{ "channel": CH, "processor": processor, "role": role, "messages": count, "bytes": count * 64 }])
        );
    }
    for process in [a, b] {
        let (status, stderr) = process.exit().await;
        assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    }
}

#[tokio::test]
async fn tcp_between_two_runners() {
    generate_in_one_count_in_the_other("tcp", 100_000).await;
}

#[tokio::test]
async fn websocket_between_two_runners() {
    generate_in_one_count_in_the_other("websocket", 100_000).await;
}

/// One writer, three readers: one in its own runner (memory), two in another runner, which gets the
/// messages once and copies them to both.
#[tokio::test]
async fn fan_out_within_and_across_runners() {
    let fake = Fake::new().await;
    let a = fake.spawn("a");
    let b = fake.spawn("b");
    let mut conns = fake.accept_all(&["a", "b"]).await;
    let (c1, c2, c3) = ("urn:test:c1", "urn:test:c2", "urn:test:c3");
    let ch = channel(
        CH,
        "tcp",
        vec![end(GEN, "writer", "a")],
        vec![end(c1, "reader", "a"), end(c2, "reader", "b"), end(c3, "reader", "b")],
    );
    let assigns = vec![
        json!({ "type": "assign", "processors": [generator(GEN, CH, 10_000), counter(c1, CH)], "channels": [ch.clone()] }),
        json!({ "type": "assign", "processors": [counter(c2, CH), counter(c3, CH)], "channels": [ch] }),
    ];
    start(&mut conns, assigns).await;
    let mut said: Vec<Value> = Vec::new();
    for (conn, processors) in conns.iter_mut().zip([2, 2]) {
        let mut finished = 0;
        while finished < processors {
            let message = conn.recv().await.unwrap();
            assert_ne!(message["type"], "failed", "{message}");
            finished += usize::from(message["type"] == "finished");
            said.push(message);
        }
    }
    for counter in [c1, c2, c3] {
        assert_eq!(
            of_processor(&said, counter),
            [("log".to_owned(), "10000 messages, 640000 bytes".to_owned()), ("finished".to_owned(), String::new())],
            "{counter}"
        );
    }
    for conn in &mut conns {
        conn.send(json!({ "type": "stop", "reason": "done" })).await;
        conn.rest().await;
    }
    for process in [a, b] {
        assert_eq!(process.exit().await.0.code(), Some(0));
    }
}
