//! `Generator`: writes `count` messages of `size` bytes.

use riffle_channels::Message;
use serde::Deserialize;

use crate::{Processor, ProcessorError, Writer};

/// Writes `count` messages of `size` bytes each, text (the letters `a` to `z`, repeated) or bytes (`0` to
/// `255`, repeated), then logs `sent N messages`.
///
/// Every message is the same payload, shared rather than copied: the generator measures channels, not
/// allocation.
#[derive(Debug, Deserialize)]
pub struct Generator {
    writer: Writer,
    count: u64,
    #[serde(default = "default_size")]
    size: usize,
    #[serde(default = "default_text")]
    text: bool,
}

fn default_size() -> usize {
    64
}

fn default_text() -> bool {
    true
}

impl Generator {
    fn payload(&self) -> Message {
        if self.text {
            Message::text((0..self.size).map(|i| char::from(b'a' + (i % 26) as u8)).collect::<String>())
        } else {
            Message::bytes((0..self.size).map(|i| (i % 256) as u8).collect::<Vec<u8>>())
        }
    }
}

impl Processor for Generator {
    async fn run(self) -> Result<(), ProcessorError> {
        let payload = self.payload();
        let Generator { mut writer, count, .. } = self;
        for _ in 0..count {
            writer.send(payload.clone()).await?;
        }
        writer.close().await?;
        crate::info!("sent {count} messages");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_channel;

    #[tokio::test]
    async fn writes_count_messages_of_size_bytes() {
        let (writer, mut reader) = memory_channel("urn:test");
        let generator = Generator { writer, count: 3, size: 30, text: true };
        let run = tokio::spawn(generator.run());
        let mut got = Vec::new();
        while let Some(message) = reader.recv().await {
            got.push(message.unwrap());
        }
        run.await.unwrap().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_text(), Some("abcdefghijklmnopqrstuvwxyzabcd"));
    }

    #[tokio::test]
    async fn bytes_when_text_is_false() {
        let (writer, mut reader) = memory_channel("urn:test");
        tokio::spawn(Generator { writer, count: 1, size: 300, text: false }.run());
        let message = reader.recv().await.unwrap().unwrap();
        assert!(!message.is_text());
        assert_eq!(message.len(), 300);
        assert_eq!(message.as_bytes()[257], 1);
    }
}
