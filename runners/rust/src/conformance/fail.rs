//! `rcf:Fail`: an error in a chosen phase, which the kit expects to stop the run and be named.

use serde::Deserialize;

use crate::{Phase, Processor, ProcessorError, Reader};

/// Fails with `message` in init, after its first message (transform), after its reader closed (close), or in
/// produce.
#[derive(Deserialize)]
pub struct Fail {
    reader: Reader,
    phase: String,
    message: String,
}

impl Processor for Fail {
    async fn init(&mut self) -> Result<(), ProcessorError> {
        match self.phase.as_str() {
            "init" => Err(ProcessorError::msg(&self.message)),
            "transform" | "close" | "produce" => Ok(()),
            other => {
                Err(ProcessorError::msg(format!("phase must be init, transform, close or produce, not {other:?}")))
            }
        }
    }

    async fn run(self) -> Result<(), ProcessorError> {
        let Fail { mut reader, phase, message } = self;
        if phase == "produce" {
            return Err(ProcessorError::msg(message).in_phase(Phase::Produce));
        }
        while let Some(message) = reader.recv().await {
            message?;
            if phase == "transform" {
                break;
            }
        }
        Err(ProcessorError::msg(message).in_phase(Phase::Transform))
    }
}
