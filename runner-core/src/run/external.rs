//! What riffle prints for a runner instance someone else starts (`--external`): a command that works
//! when pasted on the other host.

use std::net::SocketAddr;
use std::path::Path;

/// Where an external runner finds the run's secret.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    /// A private file riffle wrote for this run and removes when it ends.
    Written(&'a Path),
    /// The file `--secret-file` named, which stays.
    Given(&'a Path),
}

/// The control URL a runner on another host dials: `advertise` (`--advertise`) when given; else the
/// listen address, where a wildcard address stands for this host's name. `scheme`: `wss` in an encrypted run.
pub fn control_url(scheme: &str, listening: SocketAddr, advertise: Option<&str>) -> String {
    let host = match advertise {
        Some(host) => host.to_owned(),
        None if listening.ip().is_unspecified() => this_host_name(),
        None => return format!("{scheme}://{listening}"),
    };
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
    format!("{scheme}://{host}:{}", listening.port())
}

/// The lines to print: the command, then how to carry the secret file and what the data endpoint binds.
pub fn hint(runner: &str, argv: &[String], control_url: &str, secret: Secret) -> [String; 2] {
    use riffle_protocol::env;
    let (Secret::Written(path) | Secret::Given(path)) = secret;
    let secret_file = path.display().to_string();
    let words: Vec<String> = [
        format!("{}={}", env::CONTROL_URL, quoted(control_url)),
        format!("{}={}", env::SECRET_FILE, quoted(&secret_file)),
        format!("{}={}", env::RUNNER_ID, quoted(runner)),
    ]
    .into_iter()
    .chain(argv.iter().map(|word| quoted(word)))
    .collect();
    let whose = match secret {
        Secret::Written(_) => "holds the run's secret, readable only by you, and is removed when the run ends",
        Secret::Given(_) => "holds the run's secret (--secret-file)",
    };
    [
        format!("not starting runner {runner}; start it yourself with {}", words.join(" ")),
        format!(
            "{secret_file} {whose}; on another host, copy it there first (for example with scp) and keep it \
private. The runner's data endpoint binds the address it reaches riffle from; {} (HOST:PORT) and {} (HOST or \
HOST:PORT) change where it binds and what its peers are told",
            env::DATA_LISTEN,
            env::DATA_ADVERTISE
        ),
    ]
}

/// A word as a POSIX shell reads it back: as it is when it has nothing special, else in single quotes.
fn quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// This host's name (gethostname), or `localhost` if it has none.
fn this_host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    match std::str::from_utf8(&buffer[..end]) {
        Ok(name) if status == 0 && !name.is_empty() => name.to_owned(),
        _ => "localhost".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_an_address_the_other_host_can_dial() {
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert_eq!(control_url("ws", at("10.0.0.5:7000"), None), "ws://10.0.0.5:7000");
        assert_eq!(control_url("ws", at("0.0.0.0:7000"), Some("orch.lan")), "ws://orch.lan:7000");
        assert_eq!(control_url("ws", at("0.0.0.0:7000"), Some("fd00::1")), "ws://[fd00::1]:7000");
        assert_eq!(control_url("ws", at("0.0.0.0:7000"), None), format!("ws://{}:7000", this_host_name()));
        assert!(!control_url("ws", at("0.0.0.0:7000"), None).contains("0.0.0.0"));
    }

    #[test]
    fn words_the_shell_would_split_are_quoted() {
        assert_eq!(quoted("/opt/riffle/bin/riffle-runner-rust"), "/opt/riffle/bin/riffle-runner-rust");
        assert_eq!(quoted("/tmp/my runs/x.secret"), "'/tmp/my runs/x.secret'");
        assert_eq!(quoted("it's"), r"'it'\''s'");
        assert_eq!(quoted(""), "''");
    }
}
