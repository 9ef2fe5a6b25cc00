//! The ontology and runner descriptions compiled into the binary, so that resolving a pipeline
//! never needs the network or a particular install layout.

use std::path::{Path, PathBuf};

/// Graph names of bundled files start with this; `riffle query` shows them as such.
pub const GRAPH_PREFIX: &str = "urn:riffle:bundled:";

pub struct BundledFile {
    /// Path inside the Riffle source tree, also the graph's name after [`GRAPH_PREFIX`].
    pub path: &'static str,
    pub text: &'static str,
}

pub const FILES: &[BundledFile] = &[
    BundledFile { path: "ontology/riffle.ttl", text: include_str!("../../ontology/riffle.ttl") },
    BundledFile { path: "ontology/compat.ttl", text: include_str!("../../ontology/compat.ttl") },
    BundledFile { path: "runners/rust/runner.ttl", text: include_str!("../../runners/rust/runner.ttl") },
    BundledFile { path: "ontology/processors/rust.ttl", text: include_str!("../../ontology/processors/rust.ttl") },
    BundledFile { path: "runners/js/runner.ttl", text: include_str!("../../runners/js/runner.ttl") },
    BundledFile { path: "runners/java/runner.ttl", text: include_str!("../../runners/java/runner.ttl") },
    BundledFile { path: "runners/python/runner.ttl", text: include_str!("../../runners/python/runner.ttl") },
    BundledFile { path: "ontology/processors/java.ttl", text: include_str!("../../ontology/processors/java.ttl") },
    BundledFile { path: "ontology/conformance.ttl", text: include_str!("../../ontology/conformance.ttl") },
];

/// Where the runners' own files (scripts, jars) live: `$RIFFLE_HOME`, or else the source tree
/// this binary was built from, which is what a developer running from a checkout wants.
pub fn home() -> PathBuf {
    match std::env::var_os("RIFFLE_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}
