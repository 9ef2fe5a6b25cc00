//! Conversions between local paths and `file:` IRIs, which are the base IRIs of loaded files.

use std::path::{Path, PathBuf};

/// Characters kept as they are in a file IRI path; the rest is percent-encoded so that any path
/// (spaces, `#`, non-ASCII) makes a valid IRI.
fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b)
}

pub fn from_path(path: &Path) -> String {
    let mut url = String::from("file://");
    let text = path.to_string_lossy();
    if !text.starts_with('/') {
        url.push('/');
    }
    for b in text.bytes() {
        if keep(b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// The folder IRI (ending in `/`) that contains `path`.
pub fn folder_of(path: &Path) -> String {
    let folder = path.parent().unwrap_or(Path::new("/"));
    let mut url = from_path(folder);
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The local path of a `file:` IRI (query and fragment dropped), or None for other schemes.
pub fn to_path(iri: &str) -> Option<PathBuf> {
    let rest = iri.strip_prefix("file://")?;
    let rest = rest.split(['#', '?']).next().unwrap_or("");
    // `file://localhost/x` and `file:///x` both mean /x.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    Some(PathBuf::from(decode(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_odd_paths() {
        let path = Path::new("/tmp/my pipelines/ü#1.ttl");
        let url = from_path(path);
        assert_eq!(url, "file:///tmp/my%20pipelines/%C3%BC%231.ttl");
        assert_eq!(to_path(&url).unwrap(), path);
        assert_eq!(folder_of(path), "file:///tmp/my%20pipelines/");
    }

    #[test]
    fn drops_fragments_and_ignores_other_schemes() {
        assert_eq!(to_path("file:///a/b.ttl#x").unwrap(), Path::new("/a/b.ttl"));
        assert_eq!(to_path("https://example.org/x"), None);
        assert_eq!(decode("%zz%41"), "%zzA");
    }
}
