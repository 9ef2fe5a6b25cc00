//! Loading and resolving a pipeline file of any content: every input must end in a plan or in
//! problems, never a panic, a stack overflow or a hang. The first byte picks the syntax, so that
//! every parser Riffle accepts is exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use riffle_core::problem::report;
use riffle_core::resolve::{resolve, Options};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

const EXTENSIONS: &[&str] = &["ttl", "jsonld", "trig", "nt", "nq", "rdf", "n3"];

/// One folder per fuzzing process, in memory where the system has /dev/shm.
static FOLDER: LazyLock<PathBuf> = LazyLock::new(|| {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let folder = base.join(format!("riffle-fuzz-resolve-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("the fuzz folder can be created");
    folder
});

fn no_env(_: &str) -> Option<String> {
    None
}

fn every_program(program: &str, _: &Path) -> Option<PathBuf> {
    Some(PathBuf::from("/opt/fuzz/bin").join(program))
}

fuzz_target!(|data: &[u8]| {
    let Some((first, text)) = data.split_first() else { return };
    let extension = EXTENSIONS[*first as usize % EXTENSIONS.len()];
    let path = FOLDER.join(format!("pipeline.{extension}"));
    std::fs::write(&path, text).expect("the pipeline file can be written");
    let resolution = resolve(&path, &Options { env: &no_env, find_program: &every_program, check_runner: &|_, _| Default::default() });
    let _ = std::fs::remove_file(&path);
    if resolution.problems.is_empty() {
        serde_json::to_string(&resolution.plan).expect("a plan serialises");
    } else {
        let text = report(&resolution.problems);
        assert!(text.ends_with("nothing was started.\n"));
    }
});
