//! `FileReader`: a file as one message, or as one message per line.

use serde::Deserialize;
use tokio::io::AsyncBufReadExt;

use super::{local_path, FileError};
use crate::{Processor, ProcessorError, Writer};

/// Reads the file at `path` (relative to the pipeline's folder) and writes it as one message, or, with
/// `lines`, one message per line without its line ending (`\n` or `\r\n`). A message is text when it is
/// valid UTF-8, bytes otherwise.
#[derive(Debug, Deserialize)]
pub struct FileReader {
    path: String,
    writer: Writer,
    #[serde(default)]
    lines: bool,
}

impl Processor for FileReader {
    async fn run(self) -> Result<(), ProcessorError> {
        let FileReader { path, mut writer, lines } = self;
        let path = local_path(&path);
        if lines {
            let file = tokio::fs::File::open(&path).await.map_err(FileError::new("cannot open", &path))?;
            let mut file = tokio::io::BufReader::with_capacity(1 << 16, file);
            let mut line = Vec::new();
            loop {
                line.clear();
                if file.read_until(b'\n', &mut line).await.map_err(FileError::new("cannot read", &path))? == 0 {
                    break;
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                writer.send(message(line.clone())).await?;
            }
        } else {
            let data = tokio::fs::read(&path).await.map_err(FileError::new("cannot read", &path))?;
            writer.send(message(data)).await?;
        }
        writer.close().await?;
        Ok(())
    }
}

fn message(data: Vec<u8>) -> riffle_channels::Message {
    match String::from_utf8(data) {
        Ok(text) => riffle_channels::Message::text(text),
        Err(e) => riffle_channels::Message::bytes(e.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_channel;

    fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("riffle-file-reader-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    async fn read_all(path: &std::path::Path, lines: bool) -> Vec<riffle_channels::Message> {
        let (writer, mut reader) = memory_channel("urn:test");
        let run = tokio::spawn(FileReader { path: path.display().to_string(), writer, lines }.run());
        let mut got = Vec::new();
        while let Some(message) = reader.recv().await {
            got.push(message.unwrap());
        }
        run.await.unwrap().unwrap();
        got
    }

    #[tokio::test]
    async fn whole_file_or_lines() {
        let path = temp_file("lines", b"one\r\ntwo\n\nthree");
        let whole = read_all(&path, false).await;
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].as_text(), Some("one\r\ntwo\n\nthree"));
        let lines: Vec<_> = read_all(&path, true).await.iter().map(|m| m.as_text().unwrap().to_owned()).collect();
        assert_eq!(lines, ["one", "two", "", "three"]);
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn binary_content_is_bytes() {
        let path = temp_file("binary", &[0xff, 0xfe, 0]);
        let got = read_all(&path, false).await;
        assert!(!got[0].is_text());
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn a_missing_file_names_the_path() {
        let (writer, _reader) = memory_channel("urn:test");
        let error = FileReader { path: "/no/such/riffle-file".into(), writer, lines: false }.run().await.unwrap_err();
        assert!(error.to_string().starts_with("cannot read /no/such/riffle-file: "), "{error}");
    }
}
