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

/// A secret someone else made (`riffle run --secret-file`, a Kubernetes Secret for example), and the
/// file it came from, which the printed commands name and which riffle leaves in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub secret: String,
    pub path: PathBuf,
    /// The whole file, which in an encrypted run also holds the run's certificate and key.
    pub text: String,
}

/// Fewer characters than this cannot be a secret worth the name.
const SHORTEST: usize = 32;

impl Given {
    /// The first line of `path`, as every runner reads it: a file only its owner may read, holding at
    /// least 32 characters with no spaces.
    pub fn read(path: &Path) -> Result<Given, String> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display();
        let metadata = std::fs::metadata(path).map_err(|e| format!("--secret-file {shown}: cannot be read: {e}"))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "--secret-file {shown}: others may read it (mode {mode:03o}); make it private first \
(chmod 600 {shown}; in Kubernetes, defaultMode: 0400 on the Secret's volume)"
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("--secret-file {shown}: cannot be read: {e}"))?;
        let secret = text.lines().next().unwrap_or("").trim().to_owned();
        if secret.chars().count() < SHORTEST || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "--secret-file {shown}: its first line should be the run's secret, at least {SHORTEST} characters \
with no spaces (for example the output of `openssl rand -hex 32`)"
            ));
        }
        Ok(Given { secret, path: path.to_owned(), text })
    }
}

/// The secret in a file only its owner can read, for runners started by hand (`RIFFLE_SECRET_FILE`), so
/// that what riffle prints never holds the secret. Removed when dropped, at the end of the run.
pub struct SecretFile {
    path: PathBuf,
}

impl SecretFile {
    /// The secret on the first line, then in an encrypted run the run's certificate and key (`identity`, PEM).
    pub fn write(secret: &str, identity: Option<&str>, run_id: &str) -> std::io::Result<SecretFile> {
        let path = std::env::temp_dir().join(format!("riffle-{run_id}.secret"));
        let mut file = create_private(&path)?;
        let file_guard = SecretFile { path };
        write!(file, "{secret}\n{}", identity.unwrap_or(""))?;
        Ok(file_guard)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `riffle secret FILE`: a new secret with a new certificate and key, for runs whose secret is made ahead
/// (`--secret-file`, a Kubernetes Secret). Never overwrites a file.
pub fn make(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let secret = generate().map_err(|e| format!("cannot make a secret: {e}"))?;
    let identity = super::identity::generate()?;
    let mut file = create_private(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!("{shown} exists already; riffle secret never overwrites a file"),
        _ => format!("cannot create {shown}: {e}"),
    })?;
    write!(file, "{secret}\n{identity}").map_err(|e| format!("cannot write {shown}: {e}"))
}

/// A new file only its owner may read or write.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn file_with(text: &str, mode: u32) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("{}.given", super::run_id().unwrap()));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_given_secret_is_the_first_line_of_a_private_file() {
        let secret = "0123456789abcdef0123456789abcdef";
        let text = format!("{secret}\nanything after\n");
        let path = file_with(&text, 0o400);
        assert_eq!(
            super::Given::read(&path).unwrap(),
            super::Given { secret: secret.into(), path: path.clone(), text }
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_given_secret_others_may_read_or_too_short_is_refused_saying_how_to_fix_it() {
        let open = file_with("0123456789abcdef0123456789abcdef\n", 0o644);
        assert_eq!(
            super::Given::read(&open).unwrap_err(),
            format!(
                "--secret-file {0}: others may read it (mode 644); make it private first (chmod 600 {0}; in \
Kubernetes, defaultMode: 0400 on the Secret's volume)",
                open.display()
            )
        );
        let short = file_with("hunter2\n", 0o600);
        assert_eq!(
            super::Given::read(&short).unwrap_err(),
            format!(
                "--secret-file {}: its first line should be the run's secret, at least 32 characters with no spaces \
(for example the output of `openssl rand -hex 32`)",
                short.display()
            )
        );
        std::fs::remove_file(open).unwrap();
        std::fs::remove_file(short).unwrap();
    }

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
        let file = super::SecretFile::write("abc123", None, &id).unwrap();
        let path = file.path().to_owned();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abc123\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        drop(file);
        assert!(!path.exists());
        let file = super::SecretFile::write("abc123", Some("PEM\n"), &id).unwrap();
        assert_eq!(std::fs::read_to_string(file.path()).unwrap(), "abc123\nPEM\n");
    }

    #[test]
    fn riffle_secret_makes_a_private_file_a_run_can_take_and_never_overwrites_one() {
        let path = std::env::temp_dir().join(format!("{}.made", super::run_id().unwrap()));
        super::make(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let given = super::Given::read(&path).unwrap();
        assert_eq!(given.secret.len(), 64);
        riffle_channels::RunTls::from_pem(given.text.as_bytes()).expect("its certificate and key");
        assert_eq!(
            super::make(&path).unwrap_err(),
            format!("{} exists already; riffle secret never overwrites a file", path.display())
        );
        assert_eq!(super::Given::read(&path).unwrap(), given);
        std::fs::remove_file(path).unwrap();
    }
}
