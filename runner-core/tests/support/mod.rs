//! What the integration tests share: resolution that does not depend on this machine.

#![allow(dead_code)]

use riffle_core::resolve::{resolve, Options, Resolution};
use std::path::{Path, PathBuf};

/// Programs the bundled runners need count as installed, under a fixed path, so that expected
/// outputs are the same on every machine; a path (with a `/`) counts as the pipeline's own program,
/// built or not (pipelines/rust-custom builds its runner); anything else is missing.
pub fn fake_program(program: &str, dir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(dir.join(program));
    }
    ["node", "java", "riffle-runner-rust"].contains(&program).then(|| PathBuf::from(format!("/opt/fake/bin/{program}")))
}

/// One variable is set; every other is missing.
pub fn fake_env(key: &str) -> Option<String> {
    (key == "RIFFLE_TEST_SET").then(|| "from-the-environment".to_string())
}

pub fn resolve_here(path: &Path) -> Resolution {
    resolve(path, &Options { env: &fake_env, find_program: &fake_program })
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner-core has a parent").to_path_buf()
}

/// `RIFFLE_BLESS=1 cargo test` rewrites expected files instead of comparing against them.
pub fn blessing() -> bool {
    std::env::var_os("RIFFLE_BLESS").is_some_and(|v| v == "1")
}
