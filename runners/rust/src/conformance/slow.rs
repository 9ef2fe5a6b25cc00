//! `rcf:Slow`: a reader slower than its writer, to show that backpressure reaches the writer.

use std::time::Duration;

use serde::Deserialize;

use crate::{Processor, ProcessorError, Reader, Writer};

/// Forwards every message, waiting `delayMs` before reading each next group of `every`.
#[derive(Deserialize)]
pub struct Slow {
    reader: Reader,
    writer: Writer,
    #[serde(rename = "delayMs")]
    delay_ms: u64,
    every: u64,
}

impl Processor for Slow {
    async fn run(self) -> Result<(), ProcessorError> {
        let Slow { mut reader, mut writer, delay_ms, every } = self;
        'paced: loop {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            for _ in 0..every.max(1) {
                let Some(message) = reader.recv().await else { break 'paced };
                writer.send(message?).await?;
            }
        }
        writer.close().await?;
        Ok(())
    }
}
