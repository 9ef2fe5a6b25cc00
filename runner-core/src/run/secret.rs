//! The per-run secret that every control and data connection must present.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// 32 random bytes from the kernel, as 64 hex characters.
pub fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new id for the run's logs, independent of the secret (which must never show in part either).
pub fn run_id() -> std::io::Result<String> {
    Ok(format!("run-{}", &generate()?[..8]))
}

/// The secret in a file only its owner can read, for runners started by hand (`RIFFLE_SECRET_FILE`), so
/// that what riffle prints never holds the secret. Removed when dropped, at the end of the run.
pub struct SecretFile {
    path: PathBuf,
}

impl SecretFile {
    pub fn write(secret: &str, run_id: &str) -> std::io::Result<SecretFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = std::env::temp_dir().join(format!("riffle-{run_id}.secret"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        let file_guard = SecretFile { path };
        writeln!(file, "{secret}")?;
        Ok(file_guard)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_long_and_differ() {
        let a = super::generate().unwrap();
        let b = super::generate().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_secret_file_is_private_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let id = super::run_id().unwrap();
        let file = super::SecretFile::write("abc123", &id).unwrap();
        let path = file.path().to_owned();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abc123\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        drop(file);
        assert!(!path.exists());
    }
}
