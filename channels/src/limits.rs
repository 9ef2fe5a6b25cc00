//! Size and buffer limits, shared by both ends of a channel.

use std::time::Duration;

/// Default largest message: `i32::MAX` bytes (2 GiB - 1).
///
/// Chosen so that a 1 GiB message passes with room to spare, the frame length always fits the `u32` length
/// prefix, and every runner can hold any legal message in one buffer: Java arrays and strings top out at
/// `i32::MAX`, and Java's `DataInputStream.readInt` reads the prefix as a non-negative `int`.
pub const DEFAULT_MAX_MESSAGE: usize = i32::MAX as usize;

/// Largest limit the network framing can express (its length prefix is a `u32`).
pub const WIRE_MAX_MESSAGE: usize = u32::MAX as usize;

/// Limits for a reader, an endpoint or a writer.
///
/// Every buffer in the crate is bounded by one of these; there is no unbounded queue anywhere.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest message payload in bytes. A writer refuses a larger message with
    /// [`ChannelError::MessageTooLarge`](crate::ChannelError::MessageTooLarge); a reader endpoint closes a
    /// connection that declares a larger frame. Network transports cap it at [`WIRE_MAX_MESSAGE`].
    pub max_message: usize,
    /// How long a new connection may take to complete its hello (and a writer to get its answer).
    pub hello_timeout: Duration,
    /// Bytes a network writer may queue before `send` waits for the socket (one larger message is always let
    /// through when the queue is empty, so it bounds memory at about twice this plus one message).
    pub writer_buffer: usize,
    /// Messages a reader buffers per in-process writer before that writer's `send` waits.
    pub memory_queue: usize,
    /// How long the peer of a data connection may be silent (its host hung, its link cut) before the
    /// connection fails: TCP keepalive probes and an unacknowledged-data timeout, set on every
    /// connection an endpoint accepts or a writer dials. `None` leaves the system's (hours).
    pub link_silence: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: DEFAULT_MAX_MESSAGE,
            hello_timeout: Duration::from_secs(10),
            writer_buffer: 1 << 20,
            memory_queue: 1024,
            link_silence: None,
        }
    }
}

impl Limits {
    /// The same limits with another maximum message size.
    pub fn with_max_message(mut self, max_message: usize) -> Self {
        self.max_message = max_message;
        self
    }

    pub(crate) fn wire_max_message(&self) -> usize {
        self.max_message.min(WIRE_MAX_MESSAGE)
    }
}
