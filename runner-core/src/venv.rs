//! Python virtual environments named by path in a pipeline (`./.venv/lib/python3.12/site-packages/...`,
//! as RDF-Connect's Python examples write them), whichever Python the environment actually has.

use std::path::{Path, PathBuf};

/// `.venv/lib/python3.12/site-packages/x.py` when the environment has Python 3.13: the same path
/// under the `lib/python3.*` folder it does have.
pub fn other_python(path: &Path) -> Option<PathBuf> {
    let text = path.to_str()?;
    let at = text.find("/lib/python3.")?;
    let lib = &text[..at + "/lib/".len()];
    let rest = &text[at + "/lib/".len()..];
    let (_, below) = rest.split_once('/')?;
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3."))
        .map(|e| e.path().join(below))
        .filter(|p| p.exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_same_path_under_the_python_the_environment_has() {
        let root = std::env::temp_dir().join(format!("riffle-venv-{}", std::process::id()));
        let real = root.join(".venv/lib/python3.13/site-packages/pkg/index.ttl");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "").unwrap();
        let asked = root.join(".venv/lib/python3.12/site-packages/pkg/index.ttl");
        let found = other_python(&asked);
        let none = other_python(&root.join(".venv/lib/python3.12/site-packages/pkg/other.ttl"));
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(real));
        assert_eq!(none, None);
    }
}
