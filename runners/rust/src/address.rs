//! Where the data endpoint binds and what it is announced as: peers on other hosts must be able to
//! reach what `listening` says.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};

use riffle_protocol::env;

use crate::RunnerError;

/// The address to bind: `RIFFLE_DATA_LISTEN` (a host name is resolved, its first address), else the
/// address this runner reached the orchestrator from, port 0.
pub(crate) async fn listen(configured: Option<&str>, control_ip: IpAddr) -> Result<SocketAddr, RunnerError> {
    let Some(text) = configured else { return Ok(SocketAddr::new(control_ip, 0)) };
    resolve(text).await.map_err(|e| {
        let reason = match e.kind() {
            ErrorKind::NotFound => e.to_string(),
            _ => format!("{e} (expected HOST:PORT, such as 10.0.0.5:0 or runner-b.lan:7001)"),
        };
        RunnerError::BadEnv { name: env::DATA_LISTEN, value: text.to_owned(), reason }
    })
}

/// `host:port` to a socket address, without blocking the runtime; a literal address needs no lookup.
pub(crate) async fn resolve(endpoint: &str) -> std::io::Result<SocketAddr> {
    if let Ok(addr) = endpoint.parse() {
        return Ok(addr);
    }
    tokio::net::lookup_host(endpoint)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(ErrorKind::NotFound, "the name has no address"))
}

/// What `listening` announces: `RIFFLE_DATA_ADVERTISE` (with the bound port when it names none), else
/// the bound address, where a wildcard bind stands for the address this runner reached the
/// orchestrator from.
pub(crate) fn announced(bound: SocketAddr, advertise: Option<&str>, control_ip: IpAddr) -> String {
    match advertise {
        Some(given) if has_port(given) => given.to_owned(),
        Some(host) if host.contains(':') && !host.starts_with('[') => format!("[{host}]:{}", bound.port()),
        Some(host) => format!("{host}:{}", bound.port()),
        None if bound.ip().is_unspecified() => SocketAddr::new(control_ip, bound.port()).to_string(),
        None => bound.to_string(),
    }
}

/// `host:port`, `[v6]:port` or `v4:port`, as against a bare host or IPv6 address.
fn has_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else { return false };
    let bracketed_or_plain = host.ends_with(']') || !host.contains(':');
    bracketed_or_plain && !host.is_empty() && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn a_runner_binds_where_it_reached_the_orchestrator_unless_told() {
        let control: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(listen(None, control).await.unwrap(), at("10.0.0.7:0"));
        assert_eq!(listen(Some("0.0.0.0:7001"), control).await.unwrap(), at("0.0.0.0:7001"));
        assert_eq!(listen(Some("localhost:0"), control).await.unwrap().port(), 0);
        let error = listen(Some("10.0.0.7"), control).await.unwrap_err().to_string();
        assert!(error.starts_with("RIFFLE_DATA_LISTEN=\"10.0.0.7\" is not usable: "), "{error}");
        assert!(error.ends_with("(expected HOST:PORT, such as 10.0.0.5:0 or runner-b.lan:7001)"), "{error}");
    }

    #[test]
    fn the_announced_address_is_reachable_from_where_the_orchestrator_is() {
        let control: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(announced(at("10.0.0.7:4000"), None, control), "10.0.0.7:4000");
        assert_eq!(announced(at("0.0.0.0:4000"), None, control), "10.0.0.7:4000");
        assert_eq!(announced(at("[::]:4000"), None, control), "10.0.0.7:4000");
        assert_eq!(announced(at("0.0.0.0:4000"), Some("b.lan"), control), "b.lan:4000");
        assert_eq!(announced(at("0.0.0.0:4000"), Some("b.lan:80"), control), "b.lan:80");
        assert_eq!(announced(at("0.0.0.0:4000"), Some("fd00::2"), control), "[fd00::2]:4000");
        assert_eq!(announced(at("0.0.0.0:4000"), Some("[fd00::2]:81"), control), "[fd00::2]:81");
    }
}
