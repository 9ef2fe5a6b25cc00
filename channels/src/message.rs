//! The unit that travels over a channel.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A message: either UTF-8 text or opaque bytes.
///
/// Both kinds are backed by [`Bytes`], so cloning a message for fan-out is a reference-count bump and the memory
/// transport hands the very same buffer to the reader. Text is stored as tungstenite's `Utf8Bytes`, which is
/// `Bytes` plus a proof of UTF-8 validity, so reading a text message as `&str` never checks it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message(Body);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    Text(Utf8Bytes),
    Bytes(Bytes),
}

/// Which of the two kinds a [`Message`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Opaque bytes.
    Bytes,
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Message(Body::Text(Utf8Bytes::from(text.into())))
    }

    /// A text message over a static string, without allocating.
    pub const fn text_static(text: &'static str) -> Self {
        Message(Body::Text(Utf8Bytes::from_static(text)))
    }

    /// A text message from bytes that must be valid UTF-8; the buffer is kept, not copied.
    pub fn try_text(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Utf8Bytes::try_from(bytes).map(|t| Message(Body::Text(t)))
    }

    /// A bytes message; a `Vec<u8>`, `&'static [u8]` or `Bytes` is taken over without copying.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        Message(Body::Bytes(bytes.into()))
    }

    /// Text or bytes.
    pub fn kind(&self) -> MessageKind {
        match self.0 {
            Body::Text(_) => MessageKind::Text,
            Body::Bytes(_) => MessageKind::Bytes,
        }
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self.0, Body::Text(_))
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Body::Text(t) => Some(t.as_str()),
            Body::Bytes(_) => None,
        }
    }

    /// The payload as bytes (the UTF-8 encoding for text).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Body::Text(t) => t.as_bytes(),
            Body::Bytes(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as a shared buffer (the UTF-8 encoding for text), without copying.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Body::Text(t) => t.into(),
            Body::Bytes(b) => b,
        }
    }

    pub(crate) fn from_utf8_bytes(text: Utf8Bytes) -> Self {
        Message(Body::Text(text))
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::text(text)
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Message::bytes(bytes)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Message::bytes(bytes)
    }
}
