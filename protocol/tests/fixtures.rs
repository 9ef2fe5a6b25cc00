//! The golden fixtures are what the protocol is: every runner's tests replay them. Here each one
//! must parse into its typed message and serialise back to the same JSON.

use riffle_protocol::{OrchestratorMessage, RunnerMessage};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_runner_message_round_trips() {
    let files = fixtures("runner");
    assert_eq!(files.len(), 9, "one fixture per runner message kind");
    for file in files {
        let value: Value = serde_json::from_str(&read(&file)).unwrap();
        let message: RunnerMessage =
            serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(serde_json::to_value(&message).unwrap(), value, "{}", file.display());
        let kind = file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(value["type"], kind, "{} is named after its type", file.display());
    }
}

#[test]
fn every_orchestrator_message_round_trips() {
    let files = fixtures("orchestrator");
    assert_eq!(files.len(), 7, "one fixture per orchestrator message kind");
    for file in files {
        let value: Value = serde_json::from_str(&read(&file)).unwrap();
        let message: OrchestratorMessage =
            serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(serde_json::to_value(&message).unwrap(), value, "{}", file.display());
    }
}

#[test]
fn invalid_messages_are_refused_by_both_sides() {
    let files = fixtures("invalid");
    assert_eq!(files.len(), 5);
    for file in files {
        let text = read(&file);
        assert!(serde_json::from_str::<RunnerMessage>(&text).is_err(), "{} parsed as a runner message", file.display());
        assert!(
            serde_json::from_str::<OrchestratorMessage>(&text).is_err(),
            "{} parsed as an orchestrator message",
            file.display()
        );
    }
}

#[test]
fn the_session_transcript_follows_the_lifecycle() {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/session.jsonl"));
    let mut kinds = Vec::new();
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        let message = entry["message"].clone();
        match entry["from"].as_str() {
            Some("runner") => drop(serde_json::from_value::<RunnerMessage>(message.clone()).unwrap()),
            Some("orchestrator") => drop(serde_json::from_value::<OrchestratorMessage>(message.clone()).unwrap()),
            other => panic!("unknown sender {other:?}"),
        }
        kinds.push(format!("{}:{}", entry["from"].as_str().unwrap(), message["type"].as_str().unwrap()));
    }
    let expected = [
        "runner:hello",
        "orchestrator:welcome",
        "orchestrator:assign",
        "runner:listening",
        "orchestrator:connect",
        "runner:wired",
        "orchestrator:init",
        "runner:initialised",
        "orchestrator:start",
        "runner:log",
        "runner:finished",
        "runner:log",
        "runner:finished",
        "orchestrator:stop",
        "runner:stats",
        "runner:bye",
    ];
    assert_eq!(kinds, expected);
}
