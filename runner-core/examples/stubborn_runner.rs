//! A runner that follows the control protocol up to `start` and then ignores `stop`. The run tests
//! start it (it is on their PATH) to prove that `riffle run` still ends, and leaves nothing behind,
//! when a runner will not stop: killed after the grace period, or at once on a second signal.

use futures_util::{SinkExt, StreamExt};
use riffle_protocol::{env, Level, OrchestratorMessage, RunnerMessage};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (mut control, _) = tokio_tungstenite::connect_async(var(env::CONTROL_URL)?).await?;
    let hello = RunnerMessage::Hello {
        protocol: riffle_protocol::VERSION,
        secret: var(env::SECRET)?,
        runner: var(env::RUNNER_ID)?,
        language: "stubborn".into(),
        pid: std::process::id(),
    };
    control.send(Message::text(serde_json::to_string(&hello)?)).await?;
    while let Some(frame) = control.next().await {
        let Message::Text(text) = frame? else { continue };
        let answer = match serde_json::from_str::<OrchestratorMessage>(&text)? {
            // No readers here, so no data endpoint is ever dialled; any address will do.
            OrchestratorMessage::Assign { .. } => RunnerMessage::Listening { endpoint: "127.0.0.1:9".into() },
            OrchestratorMessage::Connect { .. } => RunnerMessage::Wired,
            OrchestratorMessage::Init => RunnerMessage::Initialised,
            OrchestratorMessage::Start => RunnerMessage::Log {
                processor: None,
                level: Level::Info,
                message: "started; I will ignore stop".into(),
            },
            OrchestratorMessage::Welcome { .. } | OrchestratorMessage::Stop { .. } => continue,
            OrchestratorMessage::Refused { reason } => return Err(reason.into()),
        };
        control.send(Message::text(serde_json::to_string(&answer)?)).await?;
    }
    Ok(())
}
