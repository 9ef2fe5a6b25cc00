//! The receiving end a processor holds: a `riffle_channels::Reader` that counts what it hands out and
//! deserialises from `{"@reader": "<channel id>"}`.

use std::sync::Arc;

use bytes::Bytes;
use riffle_channels::{ChannelError, Message};
use serde::{Deserialize, Deserializer};

use crate::construct;
use crate::error::ReadError;
use crate::stats::{Counters, Tally};

/// The reading end of a channel, as a processor field.
///
/// Declare it as a field of the processor's argument struct; the runtime replaces the argument's
/// `{"@reader": "<channel id>"}` with the live reader while it deserialises the processor. It ends (`recv`
/// gives `None`) once every writer of the channel, in this runner or any other, has closed.
///
/// ```
/// use riffle_runner::{Processor, ProcessorError, Reader};
///
/// #[derive(serde::Deserialize)]
/// struct Print {
///     reader: Reader,
/// }
///
/// impl Processor for Print {
///     async fn run(mut self) -> Result<(), ProcessorError> {
///         while let Some(text) = self.reader.recv_text().await {
///             riffle_runner::info!("got {}", text?);
///         }
///         Ok(())
///     }
/// }
/// ```
pub struct Reader {
    inner: riffle_channels::Reader,
    tally: Tally,
}

impl Reader {
    pub(crate) fn new(inner: riffle_channels::Reader, counters: Arc<Counters>) -> Self {
        Reader { inner, tally: Tally::new(counters) }
    }

    /// Wraps a reader made directly with `riffle_channels`, outside any run (tests, embedding); its counters
    /// are not reported anywhere.
    pub fn from_channel(inner: riffle_channels::Reader) -> Self {
        Reader { inner, tally: Tally::detached() }
    }

    /// The channel id.
    pub fn channel(&self) -> &str {
        self.inner.id()
    }

    /// The next message; `None` once every writer has closed.
    ///
    /// A writer that ended badly yields one `Err` (after everything it sent before) and then counts as ended;
    /// most processors propagate it with `?`. Cancel-safe.
    #[inline]
    pub async fn recv(&mut self) -> Option<Result<Message, ChannelError>> {
        let item = self.inner.recv().await;
        if let Some(Ok(message)) = &item {
            self.tally.count(message.len());
        }
        item
    }

    /// The next message as text: a text message, or a bytes message that is valid UTF-8 (anything else is
    /// [`ReadError::NotText`]). Copies the payload into a `String`; use [`Reader::recv`] and
    /// [`Message::as_text`] to borrow it instead.
    pub async fn recv_text(&mut self) -> Option<Result<String, ReadError>> {
        Some(match self.recv().await? {
            Ok(message) => match message.as_text() {
                Some(text) => Ok(text.to_owned()),
                None => String::from_utf8(message.as_bytes().to_vec())
                    .map_err(|e| ReadError::NotText { channel: self.channel().to_owned(), len: e.as_bytes().len() }),
            },
            Err(e) => Err(e.into()),
        })
    }

    /// The next message's payload as bytes (the UTF-8 encoding of a text message), without copying.
    pub async fn recv_bytes(&mut self) -> Option<Result<Bytes, ChannelError>> {
        Some(self.recv().await?.map(Message::into_bytes))
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("channel", &self.channel()).finish_non_exhaustive()
    }
}

/// The plan's stand-in for a live reader.
#[derive(Deserialize)]
#[serde(expecting = "a live reader, written {\"@reader\": \"<channel id>\"} in the arguments")]
struct ReaderRef {
    #[serde(rename = "@reader")]
    channel: String,
}

impl<'de> Deserialize<'de> for Reader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ReaderRef { channel } = ReaderRef::deserialize(deserializer)?;
        construct::take_reader(&channel).map_err(serde::de::Error::custom)
    }
}
