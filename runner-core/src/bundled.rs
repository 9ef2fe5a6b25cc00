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

/// Where the runners' own files (scripts, jars, the Python runner) are found, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub path: PathBuf,
    pub from: HomeFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeFrom {
    /// `$RIFFLE_HOME`, an override, used even when it holds nothing.
    Env,
    /// The folder above the `riffle` executable's own (`<home>/bin/riffle`, `<home>/runners/`): a
    /// distribution (`scripts/dist`), wherever it was copied.
    Executable,
    /// The source tree this binary was built from: a developer's `cargo run` or `target/release/riffle`.
    SourceTree,
    /// None of them holds `runners/`; the path is where a distribution would have them.
    Nowhere,
}

impl Home {
    /// How the folder was chosen, for reports: "RIFFLE_HOME", "beside the riffle executable", ...
    pub fn describe(&self) -> String {
        let how = match self.from {
            HomeFrom::Env => "from RIFFLE_HOME",
            HomeFrom::Executable => "the distribution riffle runs from",
            HomeFrom::SourceTree => "the source tree riffle was built from",
            HomeFrom::Nowhere => "no runners/ found beside the riffle executable, RIFFLE_HOME unset",
        };
        format!("{} ({how})", self.path.display())
    }
}

/// Where the runners' own files live, first match wins: `$RIFFLE_HOME` when set and not empty (an
/// override); else the folder above the one holding the `riffle` executable, symbolic links resolved,
/// when it has `runners/` (a distribution: `bin/riffle` beside `runners/`); else the source tree this
/// binary was built from, when it still exists (what a developer running from a checkout wants).
pub fn locate() -> Home {
    if let Some(home) = std::env::var_os("RIFFLE_HOME").filter(|h| !h.is_empty()) {
        return Home { path: PathBuf::from(home), from: HomeFrom::Env };
    }
    let beside = executable_home();
    if let Some(path) = beside.as_ref().filter(|p| p.join("runners").is_dir()) {
        return Home { path: path.clone(), from: HomeFrom::Executable };
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
    if source.join("runners").is_dir() {
        return Home { path: source, from: HomeFrom::SourceTree };
    }
    Home { path: beside.unwrap_or(source), from: HomeFrom::Nowhere }
}

/// The folder above the executable's: `/opt/riffle` for `/opt/riffle/bin/riffle`, also when riffle
/// is started through a symbolic link (`node_modules/.bin/riffle`, `/usr/local/bin/riffle`).
fn executable_home() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    Some(exe.parent()?.parent()?.to_path_buf())
}

/// The folder [`locate`] chose.
pub fn home() -> PathBuf {
    locate().path
}
