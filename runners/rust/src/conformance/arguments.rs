//! `rcf:Arguments`: writes the arguments it was given, so the kit can check they arrived typed.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Processor, ProcessorError, Writer};

/// Writes one text message, the JSON object of every argument but `writer`, then closes.
#[derive(Deserialize)]
pub struct Arguments {
    writer: Writer,
    #[serde(flatten)]
    values: Map<String, Value>,
}

impl Processor for Arguments {
    async fn run(self) -> Result<(), ProcessorError> {
        let Arguments { mut writer, values } = self;
        writer.send_text(Value::Object(values).to_string()).await?;
        writer.close().await?;
        Ok(())
    }
}
