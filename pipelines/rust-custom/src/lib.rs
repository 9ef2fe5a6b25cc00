//! An example of custom Rust processors for Riffle: [`Reverse`], served by the `my-rust-runner` binary
//! together with every built-in processor. `processors.ttl` declares it for pipelines.

use riffle_runner::{Processor, ProcessorError, Reader, Writer};
use serde::Deserialize;

/// Reverses every text message by characters; with `shout`, upper-cases it too.
///
/// The fields are the arguments its SHACL shape declares (`sh:name "reader"`, ...): serde builds the
/// processor from them, and the runtime puts live channel ends in the `Reader` and `Writer` fields.
#[derive(Debug, Deserialize)]
pub struct Reverse {
    reader: Reader,
    writer: Writer,
    #[serde(default)]
    shout: bool,
}

impl Reverse {
    fn apply(&self, text: &str) -> String {
        let reversed: String = text.chars().rev().collect();
        if self.shout {
            reversed.to_uppercase()
        } else {
            reversed
        }
    }
}

impl Processor for Reverse {
    async fn run(mut self) -> Result<(), ProcessorError> {
        while let Some(text) = self.reader.recv_text().await {
            let reversed = self.apply(&text?);
            self.writer.send_text(reversed).await?;
        }
        riffle_runner::debug!("reversed everything from {}", self.reader.channel());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reverses_each_message() {
        let (mut input, reader) = riffle_runner::memory_channel("urn:in");
        let (writer, mut output) = riffle_runner::memory_channel("urn:out");
        let run = tokio::spawn(Reverse { reader, writer, shout: false }.run());
        input.send_text("stressed").await.unwrap();
        input.send_text("héllo").await.unwrap();
        input.close().await.unwrap();
        assert_eq!(output.recv_text().await.unwrap().unwrap(), "desserts");
        assert_eq!(output.recv_text().await.unwrap().unwrap(), "olléh");
        run.await.unwrap().unwrap();
        // The processor ended without closing its writer; outside a run, dropping it ends the channel.
        assert!(output.recv().await.is_none());
    }
}
