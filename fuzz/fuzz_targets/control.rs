//! Control messages as they arrive on the control WebSocket: any text must parse to a message or be
//! refused with an error, never panic; what parses must survive a round trip through JSON unchanged
//! (the orchestrator and the runners re-serialise what they forward).
#![no_main]

use libfuzzer_sys::fuzz_target;
use riffle_protocol::{secrets_match, OrchestratorMessage, RunnerMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(message) = serde_json::from_str::<RunnerMessage>(text) {
        let again = serde_json::to_string(&message).expect("a parsed message serialises");
        let back: RunnerMessage = serde_json::from_str(&again).expect("a serialised message parses");
        assert_eq!(back, message);
        if let RunnerMessage::Hello { secret, .. } = &message {
            assert!(secrets_match(secret, secret));
            assert!(!secrets_match(secret, &format!("{secret}x")));
        }
    }
    if let Ok(message) = serde_json::from_str::<OrchestratorMessage>(text) {
        let again = serde_json::to_string(&message).expect("a parsed message serialises");
        let back: OrchestratorMessage = serde_json::from_str(&again).expect("a serialised message parses");
        assert_eq!(back, message);
    }
});
