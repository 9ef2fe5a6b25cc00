//! `PassThrough`: forwards every message unchanged.

use serde::Deserialize;

use crate::{Processor, ProcessorError, Reader, Writer};

/// Forwards every message from `reader` to `writer`, unchanged and in order.
#[derive(Debug, Deserialize)]
pub struct PassThrough {
    reader: Reader,
    writer: Writer,
}

impl Processor for PassThrough {
    async fn run(self) -> Result<(), ProcessorError> {
        let PassThrough { mut reader, mut writer } = self;
        while let Some(message) = reader.recv().await {
            writer.send(message?).await?;
        }
        writer.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_channel;

    #[tokio::test]
    async fn forwards_in_order_and_ends() {
        let (mut input, reader) = memory_channel("urn:in");
        let (writer, mut output) = memory_channel("urn:out");
        let run = tokio::spawn(PassThrough { reader, writer }.run());
        input.send_text("one").await.unwrap();
        input.send_bytes(vec![2u8]).await.unwrap();
        input.close().await.unwrap();
        assert_eq!(output.recv_text().await.unwrap().unwrap(), "one");
        assert_eq!(output.recv_bytes().await.unwrap().unwrap().as_ref(), &[2u8]);
        assert!(output.recv().await.is_none());
        run.await.unwrap().unwrap();
    }
}
