//! Riffle channels: one reader/writer API over three transports.
//!
//! A [`Writer`] sends [`Message`]s (text or bytes) to one or more [`Reader`]s; a reader expects a fixed number
//! of writers and ends when all of them have closed. The same semantics hold on every transport:
//!
//! - **ordered per writer**, nothing lost or duplicated;
//! - **bounded buffers with backpressure**: `send` waits while the reader is behind, so a slow reader slows
//!   the producer instead of growing memory;
//! - **fan-in** (one reader, many writers) and **fan-out** ([`Writer::join`]: every reader gets every message);
//! - a **size limit** ([`Limits::max_message`], 2 GiB - 1 by default) that a writer enforces with an error
//!   naming the channel and the limit, and that a reader enforces by closing the offending connection;
//! - a writer that vanishes without closing gives the reader [`ChannelError::WriterVanished`], and a reader
//!   that vanishes gives the writer [`ChannelError::ReaderVanished`], rather than a hang.
//!
//! Every buffer is bounded: per in-process writer, [`Limits::memory_queue`] messages; per network writer,
//! [`Limits::writer_buffer`] bytes queued at the writer, the kernel's socket buffers, and about 1 MiB queued
//! at the reader (a single larger message is let through alone).
//!
//! Transports ([`Transport`]):
//!
//! - **memory**: same process, a bounded queue; the reader gets the sender's very buffer.
//! - **TCP**: the reader's process runs one [`Endpoint`] that serves all its channels; writers connect to it.
//!   Frames are length-prefixed (`FRAMING.md` in this crate is the byte-exact specification that every
//!   runner implements); writes are batched and go out when the outgoing queue runs empty.
//! - **WebSocket**: the same over WebSocket messages, on the same endpoint and port.
//!
//! Every network connection starts with a hello carrying the run's secret, the channel id and the writer id;
//! the endpoint refuses (and logs) a wrong secret, an unknown channel or a malformed hello.
//!
//! # Example
//!
//! ```
//! use riffle_channels::{memory, ChannelError, Endpoint, Limits, Message, Transport, Writer};
//!
//! # async fn demo() -> Result<(), ChannelError> {
//! // In one process:
//! let (mut writer, mut reader) = memory::channel("urn:ch:local", Limits::default());
//! writer.send(Message::text("hello")).await?;
//! writer.close().await?;
//! assert_eq!(reader.recv().await.transpose()?.unwrap().as_text(), Some("hello"));
//! assert!(reader.recv().await.is_none());
//!
//! // Across processes: the reader's side listens...
//! let endpoint = Endpoint::bind_loopback("per-run secret", Limits::default())
//!     .await
//!     .expect("bind");
//! let mut reader = endpoint.register_reader("urn:ch:net", 1)?;
//! // ...and the writer's side connects to the address it was given.
//! let mut writer = Writer::connect(
//!     Transport::Tcp,
//!     endpoint.local_addr(),
//!     "per-run secret",
//!     "urn:ch:net",
//!     "writer-1",
//!     &Limits::default(),
//! )
//! .await?;
//! writer.send(Message::bytes(vec![1, 2, 3])).await?;
//! writer.close().await?;
//! assert_eq!(reader.recv().await.transpose()?.unwrap().as_bytes(), &[1, 2, 3]);
//! assert!(reader.recv().await.is_none());
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod endpoint;
mod error;
mod fds;
mod frame;
mod inbound;
mod keepalive;
mod limits;
pub mod link;
pub mod memory;
mod message;
mod outbox;
mod outgoing;
mod pending;
pub mod raw;
mod reader;
mod tcp;
pub mod tls;
mod upgrade;
mod writer;
mod ws;
mod wsframe;

pub use endpoint::Endpoint;
pub use error::ChannelError;
pub use fds::{raise_open_file_limit, too_few_descriptors, OpenFileLimit};
pub use limits::{Limits, DEFAULT_MAX_MESSAGE, WIRE_MAX_MESSAGE};
pub use link::Link;
pub use message::{Message, MessageKind};
pub use pending::{LISTEN_BACKLOG, MAX_PENDING_HANDSHAKES};
pub use reader::{Channel, Reader};
pub use tls::{IdentityError, RunTls};
pub use writer::{Transport, Writer};
