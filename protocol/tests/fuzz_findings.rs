//! Inputs the `control` fuzz target (fuzz/fuzz_targets/control.rs) once failed on, kept in
//! tests/fuzz-findings/ and replayed here: each must parse or be refused, and what parses must
//! survive a JSON round trip unchanged, as the orchestrator and runners depend on.

use riffle_protocol::{OrchestratorMessage, RunnerMessage};
use std::path::Path;

fn round_trips(text: &str) {
    if let Ok(message) = serde_json::from_str::<RunnerMessage>(text) {
        let back: RunnerMessage = serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(back, message);
    }
    if let Ok(message) = serde_json::from_str::<OrchestratorMessage>(text) {
        let back: OrchestratorMessage = serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(back, message);
    }
}

#[test]
fn every_kept_fuzz_finding_round_trips() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-findings");
    let mut files: Vec<_> = std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 1, "one kept finding so far");
    for file in files {
        round_trips(&String::from_utf8_lossy(&std::fs::read(&file).unwrap()));
    }
}

/// The finding, reduced: an argument number too large for an integer, once serialised as 7.777e32,
/// was parsed back as 7.776999999999999e32 (serde_json's fast float parsing is off by one unit in
/// the last place at times), so a runner saw another value than the plan held. The workspace now
/// enables serde_json's `float_roundtrip`.
#[test]
fn a_large_argument_number_reaches_the_runner_exactly() {
    let text = r#"{"type": "assign", "processors": [{"id": "p", "class": "C", "implementation": {},
        "arguments": {"n": 777700000000000000000001917548921, "x": 0.30000000000000004}}], "channels": []}"#;
    let Ok(OrchestratorMessage::Assign { processors, .. }) = serde_json::from_str(text) else {
        panic!("the assign parses")
    };
    let n = processors[0].arguments["n"].as_f64().unwrap();
    assert_eq!(n, "777700000000000000000001917548921".parse::<f64>().unwrap());
    assert_eq!(n, 7.777e32);
    assert_eq!(processors[0].arguments["x"].as_f64().unwrap(), 0.1 + 0.2);
    round_trips(text);
}
