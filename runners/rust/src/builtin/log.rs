//! `Log`: every message as a log line.

use riffle_protocol::Level;
use serde::Deserialize;

use crate::{logging, Processor, ProcessorError, Reader};

/// Sends every message to the orchestrator as an info log line, `label: message` (just `message` without a
/// label), which `riffle run` prints. Bytes messages are shown as UTF-8 with invalid sequences replaced.
///
/// It waits for the control connection rather than drop lines, so a fast producer is slowed down to the rate
/// the lines can be shown.
#[derive(Debug, Deserialize)]
pub struct Log {
    reader: Reader,
    #[serde(default)]
    label: Option<String>,
}

impl Log {
    fn line(&self, text: &str) -> String {
        match &self.label {
            Some(label) => format!("{label}: {text}"),
            None => text.to_owned(),
        }
    }
}

impl Processor for Log {
    async fn run(mut self) -> Result<(), ProcessorError> {
        while let Some(message) = self.reader.recv().await {
            let message = message?;
            let line = match message.as_text() {
                Some(text) => self.line(text),
                None => self.line(&String::from_utf8_lossy(message.as_bytes())),
            };
            logging::log(Level::Info, line).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_label() {
        let (_writer, reader) = crate::memory_channel("urn:test");
        let log = Log { reader, label: Some("seen".into()) };
        assert_eq!(log.line("hello"), "seen: hello");
        let (_writer, reader) = crate::memory_channel("urn:test");
        assert_eq!(Log { reader, label: None }.line("hello"), "hello");
    }
}
