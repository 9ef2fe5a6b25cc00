//! `riffle bench`: figures printed beside a raw baseline measured in the same run, because absolute
//! numbers on a shared two-core machine mean little.

pub mod java;
pub mod js;
pub mod live;
pub mod load;
pub mod pipeline;
pub mod plan;
pub mod python;
pub mod soak;

pub use plan::{generated_pipeline, plan};

use std::time::Duration;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A case's message count times `--scale`, at least one message.
fn scaled(messages: u64, scale: f64) -> u64 {
    ((messages as f64 * scale) as u64).max(1)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
