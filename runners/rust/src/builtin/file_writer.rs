//! `FileWriter`: appends every message to a file.

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{local_path, FileError};
use crate::{Processor, ProcessorError, Reader};

/// Appends every message from `reader` to the file at `path` (relative to the pipeline's folder; created if
/// missing), followed by a newline unless `lines` is false.
#[derive(Debug, Deserialize)]
pub struct FileWriter {
    reader: Reader,
    path: String,
    #[serde(default = "default_lines")]
    lines: bool,
}

fn default_lines() -> bool {
    true
}

impl Processor for FileWriter {
    async fn run(self) -> Result<(), ProcessorError> {
        let FileWriter { mut reader, path, lines } = self;
        let path = local_path(&path);
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(FileError::new("cannot open", &path))?;
        let mut file = tokio::io::BufWriter::with_capacity(1 << 16, file);
        while let Some(message) = reader.recv().await {
            let message = message?;
            file.write_all(message.as_bytes()).await.map_err(FileError::new("cannot write", &path))?;
            if lines {
                file.write_all(b"\n").await.map_err(FileError::new("cannot write", &path))?;
            }
        }
        file.flush().await.map_err(FileError::new("cannot write", &path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_channel;

    #[tokio::test]
    async fn appends_messages_with_newlines() {
        let path = std::env::temp_dir().join(format!("riffle-file-writer-{}", std::process::id()));
        std::fs::write(&path, "before\n").unwrap();
        for lines in [true, false] {
            let (mut writer, reader) = memory_channel("urn:test");
            let run = tokio::spawn(FileWriter { reader, path: path.display().to_string(), lines }.run());
            writer.send_text("a").await.unwrap();
            writer.send_bytes(b"b".to_vec()).await.unwrap();
            writer.close().await.unwrap();
            run.await.unwrap().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\na\nb\nab");
        std::fs::remove_file(path).unwrap();
    }
}
