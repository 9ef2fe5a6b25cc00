//! The processors every Rust runner provides (they are in the library, so custom runner binaries built with
//! [`Registry::builtin`](crate::Registry::builtin) have them too). Their RDF declarations and SHACL shapes
//! are in `ontology/processors/rust.ttl`; `runners/rust/README.md` documents their arguments.

mod counter;
mod file_reader;
mod file_writer;
mod generator;
mod log;
mod pass_through;

pub use counter::Counter;
pub use file_reader::FileReader;
pub use file_writer::FileWriter;
pub use generator::Generator;
pub use log::Log;
pub use pass_through::PassThrough;

use std::path::PathBuf;

/// A path argument: a plain path (relative to the runner's working directory, which `riffle run` sets to
/// the pipeline's folder) or a `file://` IRI.
fn local_path(value: &str) -> PathBuf {
    match value.strip_prefix("file://") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(value),
    }
}

/// An I/O failure on a file a processor was given, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
struct FileError {
    action: &'static str,
    path: String,
    #[source]
    source: std::io::Error,
}

impl FileError {
    fn new(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.display().to_string();
        move |source| FileError { action, path, source }
    }
}
