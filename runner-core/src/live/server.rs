//! The live endpoint of `riffle run --sparql ADDR`: the SPARQL 1.1 Protocol at `/sparql` (GET and
//! POST, URL-encoded or direct queries, results negotiated by `Accept`) over the pipeline's graphs,
//! the plan graph and the state graph, and Prometheus metrics at `/metrics`.
//!
//! HTTP/1.1, one request per connection (`Connection: close`): this answers people and scrapers, not
//! traffic. Requests are bounded (64 KiB of head, 1 MiB of body, 10 s to arrive).

use super::{metrics, state_graph, Live};
use crate::names::Names;
use crate::query::{self, OutputFormat, QueryError};
use oxigraph::model::Quad;
use oxigraph::sparql::QueryResults;
use oxigraph::store::Store;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the endpoint queries: the loaded store (pipeline files and plan graph), plus the state graph
/// it rewrites from the live snapshot before each query.
struct Shared {
    store: Store,
    names: Names,
    live: Live,
    /// The state quads last written, removed before the next are.
    written: Mutex<Vec<Quad>>,
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.into().into_bytes() }
    }
}

/// Binds `address`; the error names it, so a port in use is told before any runner starts.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|e| format!("cannot serve SPARQL on {address}: {e}"))
}

/// Serves on `listener` until the runtime ends.
pub fn serve(listener: TcpListener, store: Store, names: Names, live: Live) {
    let shared = Arc::new(Shared { store, names, live, written: Mutex::new(Vec::new()) });
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let shared = shared.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REQUEST_TIMEOUT, connection(stream, shared)).await;
            });
        }
    });
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let response = match read_request(&mut stream).await? {
        Ok(request) => {
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || respond(&request, &shared))
                .await
                .unwrap_or_else(|e| Response::text(500, format!("the query task failed: {e}\n")))
        }
        Err(response) => response,
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        _ => "Internal Server Error",
    }
}

pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Result<Request, Response>> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let (request, head_len) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(len)) => {
                let request = Request {
                    method: parsed.method.unwrap_or_default().to_string(),
                    target: parsed.path.unwrap_or_default().to_string(),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).to_string()))
                        .collect(),
                    body: Vec::new(),
                };
                break (request, len);
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Ok(Err(Response::text(413, "the request head is too large\n"))),
            Err(e) => return Ok(Err(Response::text(400, format!("not an HTTP request: {e}\n")))),
        }
    };
    let mut request = request;
    let length = match request.header("content-length").map(|v| v.trim().parse::<usize>()) {
        None => 0,
        Some(Ok(length)) if length <= MAX_BODY => length,
        Some(Ok(_)) => return Ok(Err(Response::text(413, format!("the body is larger than {MAX_BODY} bytes\n")))),
        Some(Err(_)) => return Ok(Err(Response::text(400, "Content-Length is not a number\n"))),
    };
    let mut body = buffer.split_off(head_len.min(buffer.len()));
    body.truncate(length);
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n.min(length - body.len())]);
    }
    request.body = body;
    Ok(Ok(request))
}

const HELP: &str = "Riffle live endpoint.\n  /sparql   SPARQL 1.1 Protocol (GET ?query=, POST form or application/sparql-query)\n  \
/metrics  Prometheus metrics\nGraphs: every pipeline file (named by its file: IRI), <urn:riffle:plan>, <urn:riffle:state>; the default graph is their union.\n";

fn respond(request: &Request, shared: &Shared) -> Response {
    let (path, query_string) = request.target.split_once('?').unwrap_or((&request.target, ""));
    match (request.method.as_str(), path) {
        ("GET", "/") => Response::text(200, HELP),
        ("GET", "/metrics") => Response {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: metrics::render(&shared.live.lock()).into_bytes(),
        },
        ("GET" | "POST", "/sparql") => match sparql_query(request, query_string) {
            Ok(query) => answer(&query, request.header("accept").unwrap_or("*/*"), shared),
            Err(response) => response,
        },
        (_, "/" | "/metrics" | "/sparql") => {
            Response::text(405, format!("{} is not allowed on {path}\n", request.method))
        }
        _ => Response::text(404, format!("nothing at {path}\n{HELP}")),
    }
}

/// The query text, from the URL (GET), a form (POST) or the body itself (POST application/sparql-query).
fn sparql_query(request: &Request, query_string: &str) -> Result<String, Response> {
    let content_type = request.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim();
    let parameters: Vec<(String, String)> = match (request.method.as_str(), content_type) {
        ("GET", _) => form_urlencoded::parse(query_string.as_bytes()).into_owned().collect(),
        ("POST", "application/x-www-form-urlencoded") => form_urlencoded::parse(&request.body).into_owned().collect(),
        ("POST", "application/sparql-query") => {
            return String::from_utf8(request.body.clone())
                .map_err(|_| Response::text(400, "the query is not UTF-8\n"));
        }
        (_, other) => {
            return Err(Response::text(
                415,
                format!("cannot read a query from {other:?}: send application/sparql-query or a form\n"),
            ))
        }
    };
    if parameters.iter().any(|(name, _)| name == "default-graph-uri" || name == "named-graph-uri") {
        return Err(Response::text(
            400,
            "default-graph-uri and named-graph-uri are not supported: use FROM or GRAPH in the query\n",
        ));
    }
    let mut queries = parameters.into_iter().filter(|(name, _)| name == "query").map(|(_, value)| value);
    match (queries.next(), queries.next()) {
        (Some(query), None) => Ok(query),
        (None, _) => Err(Response::text(400, "no query: pass it as the query parameter\n")),
        (Some(_), Some(_)) => Err(Response::text(400, "more than one query parameter\n")),
    }
}

fn answer(query: &str, accept: &str, shared: &Shared) -> Response {
    let mut written = shared.written.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = state_graph::quads(&shared.live.lock());
    for quad in written.iter() {
        let _ = shared.store.remove(quad);
    }
    if let Err(e) = shared.store.extend(fresh.iter().cloned()) {
        return Response::text(500, format!("cannot write the state graph: {e}\n"));
    }
    *written = fresh;
    let results = match query::evaluate(&shared.store, query) {
        Ok(results) => results,
        Err(e @ QueryError::Syntax(_)) => return Response::text(400, format!("{e}\n")),
        Err(e) => return Response::text(500, format!("{e}\n")),
    };
    let graph = matches!(results, QueryResults::Graph(_));
    let Some((format, content_type)) = negotiate(accept, graph) else {
        let offered = if graph { "text/turtle, application/n-triples" } else { RESULT_TYPES };
        return Response::text(406, format!("cannot answer in {accept}; this query's results come as {offered}\n"));
    };
    let mut body = Vec::new();
    match query::render(results, &shared.names, Some(format), false, &mut body) {
        Ok(()) => Response { status: 200, content_type, body },
        Err(e) => Response::text(500, format!("{e}\n")),
    }
}

const RESULT_TYPES: &str =
    "application/sparql-results+json, application/sparql-results+xml, text/csv, text/tab-separated-values";

/// The first media type in `accept` (by quality, then order) that these results can be written in.
fn negotiate(accept: &str, graph: bool) -> Option<(OutputFormat, &'static str)> {
    let offers: &[(&str, OutputFormat, &'static str)] = if graph {
        &[
            ("text/turtle", OutputFormat::Turtle, "text/turtle; charset=utf-8"),
            ("application/n-triples", OutputFormat::Ntriples, "application/n-triples"),
            ("text/plain", OutputFormat::Ntriples, "application/n-triples"),
        ]
    } else {
        &[
            ("application/sparql-results+json", OutputFormat::Json, "application/sparql-results+json"),
            ("application/json", OutputFormat::Json, "application/sparql-results+json"),
            ("application/sparql-results+xml", OutputFormat::Xml, "application/sparql-results+xml"),
            ("application/xml", OutputFormat::Xml, "application/sparql-results+xml"),
            ("text/csv", OutputFormat::Csv, "text/csv; charset=utf-8"),
            ("text/tab-separated-values", OutputFormat::Tsv, "text/tab-separated-values; charset=utf-8"),
        ]
    };
    let mut wanted: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().filter(|m| !m.is_empty())?;
            let quality = parts.find_map(|p| p.strip_prefix("q=")).map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
            (quality > 0.0).then_some((quality, i, media))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    wanted.into_iter().find_map(|(_, _, media)| {
        let media = media.to_ascii_lowercase();
        let fits = |offer: &str| match media.strip_suffix('*') {
            Some("*/") => true,
            Some(prefix) => offer.starts_with(prefix),
            None => offer == media,
        };
        offers.iter().find(|(offer, _, _)| fits(offer)).map(|(_, f, c)| (*f, *c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_a_format_by_quality_then_order() {
        assert_eq!(negotiate("*/*", false).map(|f| f.0), Some(OutputFormat::Json));
        assert_eq!(negotiate("text/csv", false).map(|f| f.0), Some(OutputFormat::Csv));
        assert_eq!(
            negotiate("text/csv;q=0.5, application/sparql-results+xml", false).map(|f| f.0),
            Some(OutputFormat::Xml)
        );
        assert_eq!(negotiate("text/html, */*;q=0.8", true).map(|f| f.0), Some(OutputFormat::Turtle));
        assert_eq!(negotiate("application/n-triples", true).map(|f| f.0), Some(OutputFormat::Ntriples));
        assert_eq!(negotiate("text/html", false), None);
        assert_eq!(negotiate("text/csv;q=0", false), None);
        assert_eq!(negotiate("text/*", false).map(|f| f.0), Some(OutputFormat::Csv));
    }
}
