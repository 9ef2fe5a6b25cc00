//! `Counter`: counts messages and bytes.

use serde::Deserialize;

use crate::{Processor, ProcessorError, Reader};

/// Reads `reader` to the end, then logs `N messages, B bytes` at info level.
#[derive(Debug, Deserialize)]
pub struct Counter {
    reader: Reader,
}

impl Counter {
    async fn count(&mut self) -> Result<(u64, u64), ProcessorError> {
        let (mut messages, mut bytes) = (0u64, 0u64);
        while let Some(message) = self.reader.recv().await {
            messages += 1;
            bytes += message?.len() as u64;
        }
        Ok((messages, bytes))
    }
}

impl Processor for Counter {
    async fn run(mut self) -> Result<(), ProcessorError> {
        let (messages, bytes) = self.count().await?;
        crate::info!("{messages} messages, {bytes} bytes");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_channel;

    #[tokio::test]
    async fn counts_messages_and_bytes() {
        let (mut writer, reader) = memory_channel("urn:test");
        let mut counter = Counter { reader };
        let count = tokio::spawn(async move { counter.count().await.unwrap() });
        writer.send_text("abc").await.unwrap();
        writer.send_bytes(vec![0u8; 10]).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(count.await.unwrap(), (2, 13));
    }
}
