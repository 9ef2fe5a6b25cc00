//! Riffle's Rust runner: write processors in Rust, and build the runner binary that hosts them.
//!
//! A **processor** is a struct that serde deserialises from the processor's arguments in the pipeline, whose
//! channel arguments are [`Reader`] and [`Writer`] fields, and that implements [`Processor`]. A
//! **[`Registry`]** maps the class names that pipelines use (`rdfc:class "Name"`) to processor types, and
//! [`run`] is the whole `main` of a runner binary: it joins the run that `riffle run` started
//! (`docs/protocol.md`), wires the channels, and drives every processor's lifecycle.
//!
//! The bundled `riffle-runner-rust` is `run(Registry::builtin())`: the [`builtin`] processors
//! (`Generator`, `FileReader`, `FileWriter`, `Log`, `PassThrough`, `Counter`). A runner with processors of
//! your own is a binary of your own:
//!
//! ```no_run
//! use riffle_runner::{Processor, ProcessorError, Reader, Registry, Writer};
//! use serde::Deserialize;
//!
//! /// Reverses every text message.
//! #[derive(Deserialize)]
//! struct Reverse {
//!     reader: Reader,
//!     writer: Writer,
//!     /// Optional arguments take serde defaults (the SHACL shape's `sh:defaultValue` usually fills them).
//!     #[serde(default)]
//!     shout: bool,
//! }
//!
//! impl Processor for Reverse {
//!     async fn init(&mut self) -> Result<(), ProcessorError> {
//!         riffle_runner::info!("reversing {}", self.reader.channel());
//!         Ok(())
//!     }
//!
//!     async fn run(mut self) -> Result<(), ProcessorError> {
//!         while let Some(text) = self.reader.recv_text().await {
//!             let reversed: String = text?.chars().rev().collect();
//!             let reversed = if self.shout { reversed.to_uppercase() } else { reversed };
//!             self.writer.send_text(reversed).await?;
//!         }
//!         // Optional: the runtime closes writers left open when `run` returns Ok.
//!         self.writer.close().await?;
//!         Ok(())
//!     }
//! }
//!
//! fn main() {
//!     riffle_runner::run(Registry::builtin().with::<Reverse>("Reverse"))
//! }
//! ```
//!
//! Logging: the [`info!`], [`warn!`], [`error!`] and [`debug!`] macros (they are `tracing`'s) inside a
//! processor reach the orchestrator as `log` messages named with the processor's id; see [`logging`].

mod address;
pub mod builtin;
pub mod conformance;
mod construct;
mod control;
mod error;
pub mod logging;
mod panic;
mod processor;
mod reader;
mod registry;
mod runtime;
mod stats;
mod wiring;
mod writer;

pub use error::{ProcessorError, ReadError, RunnerError};
pub use processor::Processor;
pub use reader::Reader;
pub use registry::Registry;
pub use runtime::{run, serve, Config, Outcome};
pub use writer::{memory_channel, Writer};

pub use bytes::Bytes;
pub use riffle_channels::{ChannelError, Message, MessageKind};
pub use riffle_protocol::{Level, Phase};
pub use tracing::{debug, error, info, warn};
