//! `riffle query --endpoint URL`: asks a SPARQL endpoint (a running `riffle run --sparql`, or any
//! other) over plain HTTP/1.1, with the query as an `application/sparql-query` POST body.

use crate::names::Names;
use crate::query::{self, OutputFormat, QueryError};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Triple;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsParser};
use oxigraph::sparql::{QueryEvaluationError, QueryResults, QueryTripleIter};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{url}: only http://HOST:PORT/PATH endpoints are supported")]
    Url { url: String },
    #[error("cannot reach {url}: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url} sent a response that is not HTTP: {reason}")]
    Response { url: String, reason: String },
}

/// Asks `url` and writes the answer as `riffle query` writes a local one: the endpoint is asked for
/// SPARQL JSON results or N-Triples, which are read back and written in `format`.
pub fn run(
    url: &str,
    query: &str,
    names: &Names,
    format: Option<OutputFormat>,
    terminal: bool,
    out: &mut dyn Write,
) -> Result<(), RemoteQueryError> {
    let answer = ask(url, query, "application/sparql-results+json, application/n-triples;q=0.9")?;
    let media = answer.content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let unreadable =
        |e: &dyn std::fmt::Display| RemoteQueryError::Unreadable { url: url.into(), reason: e.to_string() };
    let results = match media.as_str() {
        "application/n-triples" | "text/plain" => {
            let quads = RdfParser::from_format(RdfFormat::NTriples).for_slice(&answer.body);
            let triples =
                quads.map(|quad| quad.map(Triple::from).map_err(|e| QueryEvaluationError::Unexpected(Box::new(e))));
            QueryResults::Graph(QueryTripleIter::new(triples))
        }
        "application/sparql-results+json" | "application/json" => {
            let parser = QueryResultsParser::from_format(QueryResultsFormat::Json);
            QueryResults::from(parser.for_slice(&answer.body).map_err(|e| unreadable(&e))?)
        }
        other => return Err(unreadable(&format!("it answered in {other:?}, not SPARQL JSON results or N-Triples"))),
    };
    query::render(results, names, format, terminal, &query::Guard::default(), out)?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteQueryError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot read what {url} answered: {reason}")]
    Unreadable { url: String, reason: String },
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl RemoteQueryError {
    /// What the user gave is at fault: a URL that is not http://, a query the endpoint refused (a
    /// 4xx answer: syntax, an update, too deep, too long) or one that cannot be shown as asked;
    /// not a failure to reach the endpoint or to run the query.
    pub fn is_bad_input(&self) -> bool {
        match self {
            RemoteQueryError::Endpoint(EndpointError::Url { .. }) => true,
            RemoteQueryError::Endpoint(EndpointError::Status { status, .. }) => (400..500).contains(status),
            RemoteQueryError::Query(_) => true,
            _ => false,
        }
    }
}

pub struct Answer {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// `http://host:port/path` as (host:port, path); the path defaults to `/sparql`.
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/sparql"),
    };
    if authority.is_empty() {
        return None;
    }
    let authority = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Some((authority, if path == "/" { "/sparql".into() } else { path.into() }))
}

pub fn ask(url: &str, query: &str, accept: &str) -> Result<Answer, EndpointError> {
    let (authority, path) = split_url(url).ok_or_else(|| EndpointError::Url { url: url.into() })?;
    let connect = |e: std::io::Error| EndpointError::Connect { url: url.into(), source: e };
    let address = authority
        .to_socket_addrs()
        .map_err(connect)?
        .next()
        .ok_or_else(|| connect(std::io::Error::other("the host has no address")))?;
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(connect)?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(connect)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/sparql-query\r\nAccept: {accept}\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n",
        query.len()
    );
    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(query.as_bytes())).map_err(connect)?;
    let bad = |reason: &str| EndpointError::Response { url: url.into(), reason: reason.into() };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| bad(&e.to_string()))?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| bad(&format!("status line {:?}", line.trim_end())))?;
    let (mut length, mut chunked, mut content_type) = (None, false, String::new());
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| bad(&e.to_string()))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { return Err(bad(&format!("header {header:?}"))) };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = Some(value.parse::<usize>().map_err(|_| bad("Content-Length"))?),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-type" => content_type = value.to_string(),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(&mut reader).map_err(|e| bad(&e.to_string()))?
    } else {
        let mut body = Vec::new();
        match length {
            Some(n) => reader.take(n as u64).read_to_end(&mut body),
            None => reader.read_to_end(&mut body),
        }
        .map_err(|e| bad(&e.to_string()))?;
        body
    };
    if status != 200 {
        let text = String::from_utf8_lossy(&body).trim_end().to_string();
        return Err(EndpointError::Status { url: url.into(), status, body: text });
    }
    Ok(Answer { content_type, body })
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| std::io::Error::other(format!("chunk size {:?}", line.trim_end())))?;
        if size == 0 {
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_host_port_and_path() {
        assert_eq!(split_url("http://127.0.0.1:7000/sparql"), Some(("127.0.0.1:7000".into(), "/sparql".into())));
        assert_eq!(split_url("http://localhost:7000"), Some(("localhost:7000".into(), "/sparql".into())));
        assert_eq!(split_url("http://example.org/q?x=1"), Some(("example.org:80".into(), "/q?x=1".into())));
        assert_eq!(split_url("https://example.org/sparql"), None);
        assert_eq!(split_url("http:///sparql"), None);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let mut body = &b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"[..];
        assert_eq!(read_chunked(&mut body).unwrap(), b"Wikipedia");
    }
}
