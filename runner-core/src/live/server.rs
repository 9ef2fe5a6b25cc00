//! The live endpoint of `riffle run --sparql[=ADDR]`: the SPARQL 1.1 Protocol at `/sparql` (GET and
//! POST, URL-encoded or direct queries, results negotiated by `Accept`) over the pipeline's graphs,
//! the plan graph and the state graph, and Prometheus metrics at `/metrics`.
//!
//! HTTP/1.1, one request per connection (`Connection: close`): this answers people and scrapers, not
//! traffic. Requests are bounded (64 KiB of head, 1 MiB of body, 10 s to arrive), and so is every
//! query (see [`Limits`]): a deadline, a result cap, a few at once, read-only.

use super::{dashboard, metrics, state_graph, Live};
use crate::names::Names;
use crate::query::{self, Guard, OutputFormat, QueryError};
use oxigraph::model::Dataset;
use oxigraph::sparql::{CancellationToken, QueryResults};
use oxigraph::store::Store;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to take the answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one query may cost. Every query runs on its own thread, never holding a lock the run or
/// another query needs; past the deadline it is cancelled (the evaluator checks at every quad it
/// reads, the writer at every row) and the client is answered 503 at once, whether or not the
/// thread has stopped yet. A thread that has not stopped still counts against `concurrent`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_rows: u64,
    pub max_bytes: usize,
    /// Queries evaluated at once; more are answered 503 (busy).
    pub concurrent: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(10), max_rows: 100_000, max_bytes: 64 * 1024 * 1024, concurrent: 4 }
    }
}

/// What the endpoint queries: the loaded graphs (pipeline files and plan graph), copied for each
/// query together with a state graph made from the live snapshot then.
struct Shared {
    base: Dataset,
    /// The pipeline's shape for the dashboard ([`dashboard::plan_json`]).
    plan: String,
    names: Names,
    live: Live,
    limits: Limits,
    running: AtomicUsize,
}

/// One of `limits.concurrent` places for a running query, given back when dropped (by the query's
/// thread, when it ends).
struct Permit(Arc<Shared>);

impl Permit {
    fn take(shared: &Arc<Shared>) -> Option<Permit> {
        let max = shared.limits.concurrent;
        shared
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Permit(shared.clone()))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
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

/// What a listener serves: the endpoint (SPARQL and metrics), or that and the dashboard's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Endpoint,
    Dashboard,
}

/// What every listener answers from: the loaded graphs, the plan and the live snapshot.
pub struct Served {
    pub store: Store,
    pub names: Names,
    /// [`dashboard::plan_json`] of the plan being run.
    pub plan: String,
    pub live: Live,
    pub limits: Limits,
}

/// Serves on every listener until the runtime ends; they share the limits on queries at once.
pub fn serve(listeners: Vec<(TcpListener, Site)>, served: Served) {
    let Served { store, names, plan, live, limits } = served;
    let base: Dataset = store.iter().filter_map(Result::ok).collect();
    let shared = Arc::new(Shared { base, plan, names, live, limits, running: AtomicUsize::new(0) });
    for (listener, site) in listeners {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(connection(stream, shared.clone(), site));
            }
        });
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>, site: Site) -> std::io::Result<()> {
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await {
        Err(_) => return Ok(()),
        Ok(Ok(Ok(request))) => respond(&request, &shared, site, &mut stream).await,
        Ok(Ok(Err(response))) => Some(response),
        Ok(Err(e)) => return Err(e),
    };
    // None: the client left before its answer was ready.
    let Some(response) = response else { return Ok(()) };
    // The page may run only its own script and ask only its own origin.
    let policy = if response.content_type.starts_with("text/html") {
        "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
X-Content-Type-Options: nosniff\r\n{policy}Connection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    // The head and the body go out as written: without it, Nagle's algorithm holds the body back
    // until the client's delayed ACK of the head, some 40 ms per answer.
    let _ = stream.set_nodelay(true);
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&response.body).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write).await.unwrap_or(Ok(()))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        503 => "Service Unavailable",
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

const HELP: &str = "Riffle live endpoint.\n  /sparql   SPARQL 1.1 Protocol (GET ?query=, POST form or application/sparql-query), read-only\n  \
/metrics  Prometheus metrics\nGraphs: every pipeline file (named by its file: IRI), <urn:riffle:plan>, <urn:riffle:state>; the default graph is their union.\n\
Prefixes declared for every query: rdf rdfs xsd owl sh rdfc conn js ws riffle (and rdfl fno fnom).\n";

const DASHBOARD_PATHS: [&str; 5] = ["/", "/dashboard.js", "/dashboard.css", "/plan.json", "/state.json"];

/// The dashboard's files and documents; None for any other path.
fn page(path: &str, query_string: &str, shared: &Shared) -> Option<Response> {
    let (content_type, body) = match path {
        "/" => ("text/html; charset=utf-8", dashboard::INDEX.as_bytes().to_vec()),
        "/dashboard.js" => ("text/javascript; charset=utf-8", dashboard::SCRIPT.as_bytes().to_vec()),
        "/dashboard.css" => ("text/css; charset=utf-8", dashboard::STYLE.as_bytes().to_vec()),
        "/plan.json" => ("application/json", shared.plan.as_bytes().to_vec()),
        "/state.json" => {
            let since = form_urlencoded::parse(query_string.as_bytes())
                .find(|(name, _)| name == "log")
                .and_then(|(_, value)| value.parse().ok())
                .unwrap_or(0);
            ("application/json", dashboard::live_state_json(&shared.live.lock(), since).into_bytes())
        }
        _ => return None,
    };
    Some(Response { status: 200, content_type, body })
}

async fn respond(request: &Request, shared: &Arc<Shared>, site: Site, stream: &mut TcpStream) -> Option<Response> {
    let (path, query_string) = request.target.split_once('?').unwrap_or((&request.target, ""));
    if site == Site::Dashboard && DASHBOARD_PATHS.contains(&path) {
        if request.method != "GET" {
            return Some(Response::text(
                405,
                format!("{} is not allowed on {path}: the dashboard only reads\n", request.method),
            ));
        }
        return page(path, query_string, shared);
    }
    Some(match (request.method.as_str(), path) {
        ("GET", "/") => Response::text(200, HELP),
        ("GET", "/metrics") => Response {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: metrics::render(&shared.live.lock()).into_bytes(),
        },
        ("GET" | "POST", "/sparql") => match sparql_query(request, query_string) {
            Ok(query) => {
                let accept = request.header("accept").unwrap_or("*/*").to_string();
                return answer(query, accept, shared, stream).await;
            }
            Err(response) => response,
        },
        (_, "/" | "/metrics" | "/sparql") => {
            Response::text(405, format!("{} is not allowed on {path}\n", request.method))
        }
        _ => Response::text(404, format!("nothing at {path}\n{HELP}")),
    })
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

const TIMEOUT_HINT: &str = " (--query-timeout)";
const ROWS_HINT: &str = " (--query-max-rows)";

/// Evaluates `text` on a thread of its own and waits for its answer, the deadline or the client
/// leaving (None), whichever comes first; the last two cancel the query.
async fn answer(text: String, accept: String, shared: &Arc<Shared>, stream: &mut TcpStream) -> Option<Response> {
    let limits = shared.limits;
    let Some(permit) = Permit::take(shared) else {
        return Some(Response::text(
            503,
            format!(
                "busy: {} queries are running, as many as this endpoint runs at once; try again shortly\n",
                limits.concurrent
            ),
        ));
    };
    let token = CancellationToken::new();
    let deadline = Instant::now() + limits.timeout;
    let (answered, answer) = tokio::sync::oneshot::channel();
    let worker = {
        let (shared, token) = (shared.clone(), token.clone());
        move || {
            let _permit = permit;
            let _ = answered.send(evaluate(&text, &accept, &shared, token, deadline));
        }
    };
    let spawned = std::thread::Builder::new().name("riffle-sparql".into()).stack_size(query::QUERY_STACK).spawn(worker);
    if let Err(e) = spawned {
        return Some(Response::text(500, format!("cannot start a thread for the query: {e}\n")));
    }
    tokio::select! {
        response = answer => Some(response.unwrap_or_else(|_| Response::text(500, "the query ended without an answer\n"))),
        _ = tokio::time::sleep_until(deadline.into()) => {
            token.cancel();
            Some(Response::text(503, format!("{}\n", QueryError::Timeout(limits.timeout, TIMEOUT_HINT))))
        }
        _ = gone(stream) => {
            token.cancel();
            None
        }
    }
}

/// Returns when the client has closed its side of the connection (or it failed): nobody waits for
/// the answer any more. A client must not half-close after its request.
async fn gone(stream: &mut TcpStream) {
    let mut scrap = [0u8; 256];
    while let Ok(n) = stream.read(&mut scrap).await {
        if n == 0 {
            return;
        }
    }
}

/// Parses, evaluates and writes the answer to one query, on the query's own thread.
fn evaluate(text: &str, accept: &str, shared: &Shared, token: CancellationToken, deadline: Instant) -> Response {
    let limits = shared.limits;
    let prepared = match query::parse(text, "this endpoint", Some(token.clone())) {
        Ok(prepared) => prepared,
        Err(e @ QueryError::ReadOnly(_)) => return Response::text(403, format!("{e}\n")),
        Err(e) => return Response::text(400, format!("{e}\n")),
    };
    let mut dataset = shared.base.clone();
    let state = state_graph::quads(&shared.live.lock());
    dataset.extend(state);
    let guard = Guard {
        cancel: Some(token),
        deadline: Some((deadline, limits.timeout)),
        max_rows: Some(limits.max_rows),
        hint: (TIMEOUT_HINT, ROWS_HINT),
    };
    let failed = |e: QueryError| match e {
        QueryError::Timeout(..) | QueryError::Cancelled => Response::text(503, format!("{e}\n")),
        QueryError::TooManyRows(..) => Response::text(413, format!("{e}\n")),
        e => Response::text(500, format!("{e}\n")),
    };
    let results = match prepared.on_queryable_dataset(&dataset).execute() {
        Ok(results) => results,
        Err(e) => return failed(guard.failed(e)),
    };
    let graph = matches!(results, QueryResults::Graph(_));
    let Some((format, content_type)) = negotiate(accept, graph) else {
        let offered = if graph { "text/turtle, application/n-triples" } else { RESULT_TYPES };
        return Response::text(406, format!("cannot answer in {accept}; this query's results come as {offered}\n"));
    };
    let mut body = Capped { bytes: Vec::new(), max: limits.max_bytes, exceeded: false };
    match query::render(results, &shared.names, Some(format), false, &guard, &mut body) {
        Ok(()) => Response { status: 200, content_type, body: body.bytes },
        Err(_) if body.exceeded => Response::text(
            413,
            format!(
                "the result is larger than {} MiB (--query-max-mib); ask for less (LIMIT, fewer variables)\n",
                limits.max_bytes / (1024 * 1024)
            ),
        ),
        Err(e) => failed(e),
    }
}

/// A body that refuses to grow past `max` bytes.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
    exceeded: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            self.exceeded = true;
            return Err(std::io::Error::other("the result is too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
