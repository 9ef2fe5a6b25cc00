//! The sending end a processor holds: a `riffle_channels::Writer` that counts what it sends, deserialises
//! from `{"@writer": "<channel id>"}`, and is closed by the runtime when the processor ends.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use riffle_channels::{ChannelError, Message};
use serde::{Deserialize, Deserializer};

use crate::construct;
use crate::stats::{Counters, Tally};

/// The writing end of a channel, as a processor field.
///
/// Declare it as a field of the processor's argument struct; the runtime replaces the argument's
/// `{"@writer": "<channel id>"}` with a live writer that reaches every reader of the channel (in this runner
/// over memory, in others over TCP or WebSocket). `send` waits while a reader is behind (backpressure).
///
/// A writer the processor did not close is closed by the runtime when the processor's `run` returns `Ok`, so
/// its readers end normally; when `run` fails or panics, it stays open until the runner stops (a failure stops
/// the run) and is then dropped, so readers see the writer vanish rather than a clean end, after the
/// orchestrator has heard of the failure itself. Call [`Writer::close`] to end a stream before the processor
/// ends.
pub struct Writer {
    /// `Some` until closed or dropped; only `close` and `drop` take it out.
    inner: Option<riffle_channels::Writer>,
    tally: Tally,
    /// Where `Drop` leaves an unclosed writer for the runtime; `None` outside a run.
    bin: Option<Arc<WriterBin>>,
    /// RDF-Connect's `rdfc:logLevel` on the channel: every message sent is logged at this level.
    log_level: Option<riffle_protocol::Level>,
}

impl Writer {
    pub(crate) fn new(inner: riffle_channels::Writer, counters: Arc<Counters>, bin: Arc<WriterBin>) -> Self {
        Writer { inner: Some(inner), tally: Tally::new(counters), bin: Some(bin), log_level: None }
    }

    /// Logs every message sent, as the processor's output (`rdfc:logLevel` on the channel).
    pub(crate) fn logging_at(mut self, level: Option<riffle_protocol::Level>) -> Self {
        self.log_level = level;
        self
    }

    /// Wraps a writer made directly with `riffle_channels`, outside any run (tests, embedding). Dropped
    /// unclosed, it ends in-memory readers normally and cuts network ones.
    pub fn from_channel(inner: riffle_channels::Writer) -> Self {
        Writer { inner: Some(inner), tally: Tally::detached(), bin: None, log_level: None }
    }

    fn inner(&mut self) -> Result<&mut riffle_channels::Writer, ChannelError> {
        // `inner` is only taken by `close(self)` and `drop`, after which no method can be called; the error
        // keeps this total rather than panicking.
        self.inner
            .as_mut()
            .ok_or_else(|| ChannelError::Setup { channel: "?".into(), reason: "the writer is already closed".into() })
    }

    /// The channel id.
    pub fn channel(&self) -> &str {
        self.inner.as_ref().map_or("?", |w| w.channel())
    }

    /// The largest message this writer will send.
    pub fn max_message(&self) -> usize {
        self.inner.as_ref().map_or(0, |w| w.max_message())
    }

    /// Sends a message to every reader of the channel, waiting while any of them is full.
    #[inline]
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ChannelError> {
        let message = message.into();
        let len = message.len();
        if let Some(level) = self.log_level {
            let shown = match message.as_text() {
                Some(text) => text.to_string(),
                None => format!("<{len} bytes>"),
            };
            crate::logging::log(level, shown).await;
        }
        let inner = self.inner()?;
        if let Some(message) = inner.try_send(message)? {
            inner.send(message).await?;
            let blocked = inner.blocked();
            self.tally.blocked(blocked);
        }
        self.tally.count(len);
        Ok(())
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), ChannelError> {
        self.send(Message::text(text)).await
    }

    /// Sends a bytes message (a `Vec<u8>` or `Bytes` is taken over without copying).
    pub async fn send_bytes(&mut self, bytes: impl Into<Bytes>) -> Result<(), ChannelError> {
        self.send(Message::bytes(bytes)).await
    }

    /// Closes the writer: every reader gets everything sent so far, then sees this writer end. For network
    /// readers it returns once the reader's process acknowledged the close.
    pub async fn close(mut self) -> Result<(), ChannelError> {
        match self.inner.take() {
            Some(inner) => inner.close().await,
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let (Some(inner), Some(bin)) = (self.inner.take(), &self.bin) {
            bin.put(inner);
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("channel", &self.channel()).finish_non_exhaustive()
    }
}

/// The plan's stand-in for a live writer.
#[derive(Deserialize)]
#[serde(expecting = "a live writer, written {\"@writer\": \"<channel id>\"} in the arguments")]
struct WriterRef {
    #[serde(rename = "@writer")]
    channel: String,
}

impl<'de> Deserialize<'de> for Writer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let WriterRef { channel } = WriterRef::deserialize(deserializer)?;
        construct::take_writer(&channel).map_err(serde::de::Error::custom)
    }
}

/// One processor's writers that were dropped without being closed: closing is asynchronous and may fail, so
/// `Drop` cannot do it; the runtime does once the processor ends, and only if it ended well.
#[derive(Default)]
pub(crate) struct WriterBin {
    state: Mutex<BinState>,
}

enum BinState {
    /// The processor runs: keep dropped writers for its end.
    Holding(Vec<riffle_channels::Writer>),
    /// The processor ended well: a writer dropped later (by a task it spawned) is closed at once.
    /// A processor that failed never leaves `Holding`: its writers stay open until the runner stops.
    Closing,
}

impl Default for BinState {
    fn default() -> Self {
        BinState::Holding(Vec::new())
    }
}

impl WriterBin {
    fn put(&self, writer: riffle_channels::Writer) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            BinState::Holding(writers) => writers.push(writer),
            BinState::Closing => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        if let Err(e) = writer.close().await {
                            tracing::error!("closing a writer dropped after its processor ended: {e}");
                        }
                    });
                }
            }
        }
    }

    /// The writers dropped so far, for a processor that ended well; from now on, later ones are closed.
    pub(crate) fn take(&self) -> Vec<riffle_channels::Writer> {
        match std::mem::replace(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()), BinState::Closing) {
            BinState::Holding(writers) => writers,
            _ => Vec::new(),
        }
    }
}

/// A writer and a reader joined in memory, outside any run: for unit tests of processors.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let (mut writer, mut reader) = riffle_runner::memory_channel("urn:test");
/// writer.send_text("hi").await.unwrap();
/// writer.close().await.unwrap();
/// assert_eq!(reader.recv_text().await.unwrap().unwrap(), "hi");
/// assert!(reader.recv().await.is_none());
/// # });
/// ```
pub fn memory_channel(channel_id: &str) -> (Writer, crate::Reader) {
    let (writer, reader) = riffle_channels::memory::channel(channel_id, riffle_channels::Limits::default());
    (Writer::from_channel(writer), crate::Reader::from_channel(reader))
}
