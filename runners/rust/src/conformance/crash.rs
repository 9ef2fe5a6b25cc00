//! `rcf:Crash`: the runner dies under the kit's eyes, which must be noticed and named.

use serde::Deserialize;

use crate::{Processor, ProcessorError, Reader};

/// After its first message, ends the whole runner process with status 70, telling no one.
#[derive(Deserialize)]
pub struct Crash {
    reader: Reader,
}

impl Processor for Crash {
    async fn run(mut self) -> Result<(), ProcessorError> {
        if let Some(first) = self.reader.recv().await {
            first?;
        }
        std::process::exit(70)
    }
}
