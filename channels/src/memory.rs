//! The in-process transport: a bounded queue of [`Message`]s, which share their buffers with the sender.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::reader::Item;
use crate::{ChannelError, Limits, Message, Reader, Writer};

/// A writer and a reader in the same process, for a channel with exactly one writer.
///
/// For more writers, make a [`Reader`] and attach each with [`Channel::memory_writer`](crate::Channel).
pub fn channel(channel_id: &str, limits: Limits) -> (Writer, Reader) {
    let reader = Reader::new(channel_id, 1, limits);
    match reader.channel().memory_writer("0") {
        Ok(writer) => (writer, reader),
        // A fresh reader expecting one writer always admits the first.
        Err(err) => unreachable!("a new reader refused its only writer: {err}"),
    }
}

pub(crate) struct MemorySink {
    channel: Arc<str>,
    tx: mpsc::Sender<Item>,
}

impl MemorySink {
    pub(crate) fn new(channel: Arc<str>, tx: mpsc::Sender<Item>) -> Self {
        MemorySink { channel, tx }
    }

    /// Closing is dropping the lane's sender; it only fails if there is no reader left to tell.
    pub(crate) fn close(self) -> Result<(), ChannelError> {
        if self.tx.is_closed() {
            return Err(self.vanished());
        }
        Ok(())
    }

    /// Sends without waiting if there is room; `Err(Some(msg))` hands the message back when the queue is
    /// full, `Err(None)` means the reader is gone.
    #[inline]
    pub(crate) fn try_send(&mut self, msg: Message) -> Result<(), Option<Message>> {
        match self.tx.try_send(Item::One(msg)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(Item::One(msg))) => Err(Some(msg)),
            // Only `Item::One` is ever sent on this lane.
            Err(mpsc::error::TrySendError::Full(_)) => Err(None),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(None),
        }
    }

    pub(crate) fn vanished(&self) -> ChannelError {
        ChannelError::ReaderVanished { channel: self.channel.to_string(), reason: "the reader was dropped".into() }
    }

    #[inline]
    pub(crate) async fn send(&mut self, msg: Message) -> Result<(), ChannelError> {
        self.tx.send(Item::One(msg)).await.map_err(|_| self.vanished())
    }
}
