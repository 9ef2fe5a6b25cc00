//! `riffle run`: the orchestrator. It starts one process per runner instance, speaks the control
//! protocol (`docs/protocol.md`) with each, and stops them all when the pipeline ends or fails.

mod control;
mod descriptors;
mod event;
mod external;
mod identity;
mod launch;
pub mod orchestrator;
pub mod rate;
pub mod reaper;
pub mod report;
mod secret;

pub use event::Signal;
pub use orchestrator::{assignment, run, Outcome, RunOptions, RunReport};
pub use report::{LogFormat, Reporter};
pub use secret::{make as make_secret, Given as GivenSecret};
