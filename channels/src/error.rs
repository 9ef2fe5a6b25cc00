//! The one error type of the crate. Every variant names the channel it concerns, because a pipeline has many
//! channels and an error that does not say which one is useless to the person reading the log.

use std::io;

/// What can go wrong on a channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The writer refused to send a message above the size limit (its own, or the one the reader announced).
    #[error("channel {channel}: message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Channel id.
        channel: String,
        /// Size of the refused message.
        size: usize,
        /// The limit in force.
        limit: usize,
    },

    /// A writer declared a frame above the reader's size limit; its connection was closed.
    #[error("channel {channel}: writer {writer} declared a message of {declared} bytes, above the limit of {limit} bytes; connection closed")]
    FrameTooLarge {
        /// Channel id.
        channel: String,
        /// Writer id from the writer's hello.
        writer: String,
        /// Length the frame declared.
        declared: u64,
        /// The reader's limit.
        limit: usize,
    },

    /// A writer's connection ended without a close frame: the writer process died or dropped its writer.
    #[error("channel {channel}: writer {writer} vanished without closing ({reason})")]
    WriterVanished {
        /// Channel id.
        channel: String,
        /// Writer id.
        writer: String,
        /// What was observed (end of stream, reset, ...).
        reason: String,
    },

    /// The reader went away (or closed the connection) before the writer closed.
    #[error("channel {channel}: the reader vanished ({reason})")]
    ReaderVanished {
        /// Channel id.
        channel: String,
        /// What was observed.
        reason: String,
    },

    /// The reader's endpoint refused this writer during the handshake.
    #[error("channel {channel}: the reader endpoint refused writer {writer}: {reason}")]
    Refused {
        /// Channel id.
        channel: String,
        /// Writer id.
        writer: String,
        /// The endpoint's stated reason, or what the writer observed when none was given.
        reason: String,
    },

    /// A peer broke the wire protocol (unknown frame kind, invalid UTF-8 in a text frame, ...).
    #[error("channel {channel}: protocol error from {peer}: {reason}")]
    Protocol {
        /// Channel id.
        channel: String,
        /// Which peer (writer id, or "reader").
        peer: String,
        /// What was wrong.
        reason: String,
    },

    /// The channel was set up wrongly (too many writers, duplicate ids, unsupported transport, ...).
    #[error("channel {channel}: {reason}")]
    Setup {
        /// Channel id.
        channel: String,
        /// What was wrong.
        reason: String,
    },

    /// Connecting to the reader's endpoint failed.
    #[error("channel {channel}: cannot connect to {addr}: {source}")]
    Connect {
        /// Channel id.
        channel: String,
        /// The address tried.
        addr: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl ChannelError {
    /// The id of the channel this error concerns.
    pub fn channel(&self) -> &str {
        match self {
            ChannelError::MessageTooLarge { channel, .. }
            | ChannelError::FrameTooLarge { channel, .. }
            | ChannelError::WriterVanished { channel, .. }
            | ChannelError::ReaderVanished { channel, .. }
            | ChannelError::Refused { channel, .. }
            | ChannelError::Protocol { channel, .. }
            | ChannelError::Setup { channel, .. }
            | ChannelError::Connect { channel, .. } => channel,
        }
    }
}
