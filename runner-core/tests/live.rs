//! `riffle run --sparql`: SPARQL and metrics over a running pipeline, during the run and after it,
//! with counts that match what passed; and `riffle query --endpoint` against it.

mod support;

use support::run_fixture as fixture;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous: only stops a broken run from hanging the suite; nothing asserts on time.
const SAFETY: Duration = Duration::from_secs(60);

const PREFIX: &str = "PREFIX riffle: <https://w3id.org/riffle#>\n";

fn file_iri(fixture_name: &str, local: &str) -> String {
    riffle_core::fileurl::from_path(&fixture(fixture_name).join(local))
}

/// A run with the endpoint on a free loopback port; stderr arrives line by line (split at carriage
/// returns too, for the progress line).
struct LiveRun {
    /// None once a test has taken it to wait on it elsewhere ([`LiveRun::take_child`]).
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    endpoint: String,
}

impl LiveRun {
    fn start(fixture_name: &str, tag: &str, extra: &[&str]) -> LiveRun {
        let mut argv = vec!["run", "pipeline.ttl", "--sparql", "--keep-serving"];
        argv.extend(extra);
        LiveRun::start_with(fixture_name, tag, &argv)
    }

    /// `riffle ARGV`, which must start the endpoint.
    fn start_with(fixture_name: &str, tag: &str, argv: &[&str]) -> LiveRun {
        let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
            .args(argv)
            .current_dir(fixture(fixture_name))
            .env("RIFFLE_TEST_TAG", tag)
            .env("RIFFLE_DEBUG", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("riffle starts");
        let lines = support::pieces(child.stderr.take().expect("piped"));
        let mut run = LiveRun { child: Some(child), lines, endpoint: String::new() };
        let announced = run.wait_for(|l| l.starts_with("riffle: SPARQL endpoint http://"));
        run.endpoint = announced
            .strip_prefix("riffle: SPARQL endpoint ")
            .and_then(|rest| rest.split(',').next())
            .expect("the endpoint's URL")
            .to_string();
        run
    }

    fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv_timeout(SAFETY) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(e) => {
                    let _ = self.child().kill();
                    let _ = self.child().wait();
                    panic!("riffle never printed the line waited for: {e}");
                }
            }
        }
    }

    fn address(&self) -> String {
        self.endpoint.trim_start_matches("http://").trim_end_matches("/sparql").to_string()
    }

    fn interrupt(&self) {
        let status = Command::new("kill").args(["-INT", &self.pid().to_string()]).status().expect("kill runs");
        assert!(status.success());
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the child was not taken")
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the child was not taken").id()
    }

    fn take_child(&mut self) -> Child {
        self.child.take().expect("the child was not taken")
    }

    /// Ctrl-C ends the serving; returns riffle's exit code.
    fn finish(mut self) -> Option<i32> {
        self.interrupt();
        self.child().wait().expect("riffle exits").code()
    }
}

/// A test that fails before `finish` must not leave a `--keep-serving` riffle behind.
impl Drop for LiveRun {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// One raw HTTP request; returns the status, the Content-Type and the body.
fn http(address: &str, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).expect("the endpoint accepts connections");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type =
        head.lines().find_map(|l| l.strip_prefix("Content-Type: ")).map(str::to_string).unwrap_or_default();
    (status, content_type, body.to_string())
}

fn query(endpoint: &str, text: &str, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["query", "--endpoint", endpoint, text, "--format", format])
        .current_dir(fixture("two-runners"))
        .output()
        .expect("riffle query runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn messages_of(endpoint: &str, channel: &str) -> u64 {
    let csv = query(
        endpoint,
        &format!("{PREFIX}SELECT ?n WHERE {{ GRAPH <urn:riffle:state> {{ <{channel}> riffle:messages ?n }} }}"),
        "csv",
    );
    csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}")).parse().unwrap_or_else(|_| panic!("{csv}"))
}

#[test]
fn after_a_run_the_state_graph_and_metrics_count_exactly_what_passed() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start("two-runners", &tag, &[]);
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    let numbers = file_iri("two-runners", "numbers");

    let csv = query(
        &run.endpoint,
        &format!("{PREFIX}SELECT ?channel ?messages ?bytes ?queued WHERE {{ ?channel riffle:messages ?messages; riffle:bytes ?bytes; riffle:queued ?queued }}"),
        "csv",
    );
    assert_eq!(csv, format!("channel,messages,bytes,queued\r\n{numbers},100000,6400000,0\r\n"));
    let table = query(
        &run.endpoint,
        &format!("{PREFIX}SELECT ?processor ?state WHERE {{ ?processor riffle:state ?state; riffle:runsOn ?runner }} ORDER BY ?processor"),
        "table",
    );
    // Asked from the pipeline's folder, IRIs print as its author wrote them.
    assert_eq!(
        table,
        "processor | state\n----------+----------------\n<count>   | riffle:Finished\n<gen>     | riffle:Finished\n(2 rows)\n"
    );
    let gen = file_iri("two-runners", "gen");
    let ask = format!(
        "{PREFIX}ASK {{ <urn:riffle:run> riffle:state riffle:Finished; riffle:startedAt ?s; riffle:endedAt ?e }}"
    );
    assert_eq!(query(&run.endpoint, &ask, "json"), "{\"head\":{},\"boolean\":true}");

    // The SPARQL protocol by hand: GET with a URL-encoded query, results negotiated by Accept.
    let encoded: String = form_urlencoded::byte_serialize(
        format!("{PREFIX}SELECT ?n WHERE {{ <{numbers}> riffle:messages ?n }}").as_bytes(),
    )
    .collect();
    let (status, content_type, body) = http(
        &run.address(),
        &format!("GET /sparql?query={encoded} HTTP/1.1\r\nHost: x\r\nAccept: text/tab-separated-values\r\n\r\n"),
    );
    assert_eq!((status, content_type.as_str()), (200, "text/tab-separated-values; charset=utf-8"));
    assert_eq!(body, "?n\n100000\n");
    // What curl and browsers send: anything, which means SPARQL JSON.
    let (status, content_type, body) =
        http(&run.address(), &format!("GET /sparql?query={encoded} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"));
    assert_eq!((status, content_type.as_str()), (200, "application/sparql-results+json"));
    assert_eq!(
        body,
        "{\"head\":{\"vars\":[\"n\"]},\"results\":{\"bindings\":[{\"n\":{\"type\":\"literal\",\"value\":\"100000\",\"datatype\":\"http://www.w3.org/2001/XMLSchema#integer\"}}]}}"
    );
    // POST as a form, asking for XML.
    let form = format!("query={encoded}");
    let (status, content_type, body) = http(
        &run.address(),
        &format!(
            "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/sparql-results+xml\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!((status, content_type.as_str()), (200, "application/sparql-results+xml"));
    assert!(body.contains("<literal datatype=\"http://www.w3.org/2001/XMLSchema#integer\">100000</literal>"), "{body}");
    // CONSTRUCT as N-Triples.
    let construct =
        format!("{PREFIX}CONSTRUCT {{ <{numbers}> riffle:bytes ?b }} WHERE {{ <{numbers}> riffle:bytes ?b }}");
    let (status, content_type, body) = http(
        &run.address(),
        &format!(
            "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nAccept: application/n-triples\r\nContent-Length: {}\r\n\r\n{construct}",
            construct.len()
        ),
    );
    assert_eq!((status, content_type.as_str()), (200, "application/n-triples"));
    assert_eq!(
        body,
        format!(
            "<{numbers}> <https://w3id.org/riffle#bytes> \"6400000\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n"
        )
    );
    // Mistakes get a status and a reason.
    let (status, _, body) = http(&run.address(), "GET /sparql?query=SELEKT HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 400);
    assert!(body.starts_with("the query does not parse: "), "{body}");
    let (status, _, body) =
        http(&run.address(), &format!("GET /sparql?query={encoded} HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n"));
    assert_eq!(status, 406, "{body}");
    let (status, _, _) = http(&run.address(), "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 404);

    let (status, content_type, metrics) = http(&run.address(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, content_type.as_str()), (200, "text/plain; version=0.0.4; charset=utf-8"));
    for line in [
        format!("riffle_channel_messages_total{{channel=\"{numbers}\"}} 100000"),
        format!("riffle_channel_bytes_total{{channel=\"{numbers}\"}} 6400000"),
        format!("riffle_channel_queued_messages{{channel=\"{numbers}\"}} 0"),
        format!("riffle_processor_state{{processor=\"{gen}\",state=\"finished\"}} 1"),
        format!("riffle_processor_state{{processor=\"{gen}\",state=\"running\"}} 0"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    assert_eq!(run.finish(), Some(0), "the run's own outcome, not the Ctrl-C that ended the serving");
    assert!(support::processes_tagged(&tag).is_empty());
}

#[test]
fn during_a_run_the_state_moves_and_after_an_interruption_it_matches_the_summary() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start("endless", &tag, &["--progress", "always"]);
    let numbers = file_iri("endless", "numbers");
    // Two progress draws with messages: the state had the first count before the second was drawn.
    let counted = |line: &str| -> Option<u64> {
        let count = line.strip_prefix("\x1b[2K<numbers> ")?.split(" msg").next()?;
        count.replace(',', "").parse().ok().filter(|n| *n > 0)
    };
    let first = counted(&run.wait_for(|l| counted(l).is_some())).unwrap();
    run.wait_for(|l| counted(l).is_some_and(|n| n > first));
    let during = messages_of(&run.endpoint, &numbers);
    assert!(during >= first, "{during} < {first}");
    let states = query(
        &run.endpoint,
        &format!("{PREFIX}SELECT ?state (COUNT(?p) AS ?n) WHERE {{ ?p riffle:state ?state; riffle:runsOn ?r }} GROUP BY ?state"),
        "csv",
    );
    assert_eq!(states, "state,n\r\nhttps://w3id.org/riffle#Running,2\r\n");
    let runners = query(
        &run.endpoint,
        &format!("{PREFIX}SELECT ?runner ?rss WHERE {{ ?runner riffle:pid ?pid; riffle:residentBytes ?rss; riffle:cpuSeconds ?cpu }}"),
        "csv",
    );
    let sizes: Vec<u64> = runners.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(sizes.len(), 2, "{runners}");
    assert!(sizes.iter().all(|rss| *rss > 100_000), "{runners}");
    let later = messages_of(&run.endpoint, &numbers);
    assert!(later >= during, "counts only grow: {later} < {during}");

    run.interrupt();
    let summary = run.wait_for(|l| l.starts_with("  <numbers> "));
    let passed: u64 = summary.split_whitespace().nth(1).unwrap().replace(',', "").parse().unwrap();
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    assert_eq!(messages_of(&run.endpoint, &numbers), passed, "the state graph counts what the summary says passed");
    let ask = format!("{PREFIX}ASK {{ <urn:riffle:run> riffle:state riffle:Interrupted }}");
    assert_eq!(query(&run.endpoint, &ask, "json"), "{\"head\":{},\"boolean\":true}");
    assert_eq!(run.finish(), Some(130));
    assert!(support::processes_tagged(&tag).is_empty());
}

#[test]
fn a_port_in_use_is_an_error_before_any_runner_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (output, left) =
        support::riffle_tagged(&["run", "pipeline.ttl", &format!("--sparql={address}")], Some(&fixture("two-runners")));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: cannot serve SPARQL on {address}: Address already in use (os error 98); nothing was started\n"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("starting 2 runner(s)"), "{stderr}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn asking_an_endpoint_that_is_not_there_says_so() {
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{address}/sparql");
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["query", "--endpoint", &url, "ASK {}"])
        .output()
        .expect("riffle query runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("error: cannot reach {url}: Connection refused (os error 111)\n")
    );
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["query", "--endpoint", "https://example.org/sparql", "ASK {}"])
        .output()
        .expect("riffle query runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: https://example.org/sparql: only http://HOST:PORT/PATH endpoints are supported\n"
    );
}

#[test]
fn keep_serving_needs_sparql() {
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--keep-serving"])
        .current_dir(fixture("two-runners"))
        .output()
        .expect("riffle runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: the following required arguments were not provided:\n  <--sparql[=<ADDR>]|--dashboard[=<ADDR>]>\n\n\
Usage: riffle run --keep-serving <--sparql[=<ADDR>]|--dashboard[=<ADDR>]> <PIPELINE>\n\n\
For more information, try '--help'.\n"
    );
}

#[test]
fn the_dashboard_serves_its_page_the_plan_and_a_state_that_ends_at_the_summarys_counts() {
    let tag = support::unique_tag();
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["run", "pipeline.ttl", "--dashboard", "--keep-serving"])
        .current_dir(fixture("two-runners"))
        .env("RIFFLE_TEST_TAG", &tag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle starts");
    let lines = support::pieces(child.stderr.take().expect("piped"));
    let mut seen = Vec::new();
    let mut wait_for = |wanted: &dyn Fn(&str) -> bool| loop {
        let line = lines.recv_timeout(SAFETY).unwrap_or_else(|e| panic!("{e}; riffle printed:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if wanted(&line) {
            return (line, seen.clone());
        }
    };
    let (announced, before) = wait_for(&|l| l.starts_with("dashboard: http://"));
    assert_eq!(before.len(), 1, "the dashboard's line comes before any runner starts: {before:?}");
    let url = announced.strip_prefix("dashboard: ").unwrap();
    let address = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let (ended, _) = wait_for(&|l| l.starts_with("riffle: the run has ended; still serving "));
    assert_eq!(ended, format!("riffle: the run has ended; still serving the dashboard at {url} until Ctrl-C"));

    let (status, content_type, page) = http(&address, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains("<script type=\"module\" src=\"/dashboard.js\"></script>"), "{page}");
    let (status, content_type, _) = http(&address, "GET /dashboard.js HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, content_type.as_str()), (200, "text/javascript; charset=utf-8"));

    let (status, _, plan) = http(&address, "GET /plan.json HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let mut names: Vec<&str> =
        plan["processors"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["<count>", "<gen>"]);

    let (status, _, state) = http(&address, "GET /state.json?log=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["run"]["state"], "finished");
    let numbers = &state["channels"][file_iri("two-runners", "numbers")];
    assert_eq!((numbers["messages"].as_u64(), numbers["bytes"].as_u64()), (Some(100_000), Some(6_400_000)));
    assert_eq!(state["processors"][file_iri("two-runners", "gen")]["state"], "finished");

    // The page's SPARQL box asks the same server.
    let (status, _, body) =
        http(&address, "GET /sparql?query=ASK%7B%3Fs%20riffle%3Amessages%20100000%7D HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, "{\"head\":{},\"boolean\":true}"));
    // Reading only: nothing on the page's server changes the run.
    let (status, _, _) = http(&address, "POST /state.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, 405);

    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    assert_eq!(child.wait().expect("riffle exits").code(), Some(0));
    assert!(support::processes_tagged(&tag).is_empty());
}

/// A query that would run for ages: four unrelated patterns over every quad.
const RUNAWAY: &str = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }";

fn post_request(query: &str) -> String {
    format!(
        "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nAccept: text/csv\r\nContent-Length: {}\r\n\r\n{query}",
        query.len()
    )
}

fn post(address: &str, query: &str) -> (u16, String, String) {
    http(address, &post_request(query))
}

/// A query sent and not waited for: the connection stays open until the stream is dropped.
fn in_flight(address: &str, query: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("the endpoint accepts connections");
    stream.write_all(post_request(query).as_bytes()).unwrap();
    stream
}

/// Asks `query` until the answer has `status`; returns its body. Bounded by SAFETY.
fn until_status(address: &str, query: &str, status: u16) -> String {
    let give_up = std::time::Instant::now() + SAFETY;
    loop {
        let (got, _, body) = post(address, query);
        if got == status {
            return body;
        }
        assert!(std::time::Instant::now() < give_up, "never answered {status}; last {got}: {body}");
    }
}

const BUSY: &str = "busy: 4 queries are running, as many as this endpoint runs at once; try again shortly\n";

#[test]
fn runaway_queries_hold_up_neither_the_state_the_metrics_nor_the_exit() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start_with(
        "endless",
        &tag,
        &["run", "pipeline.ttl", "--sparql", "--progress", "always", "--query-timeout", "600"],
    );
    let numbers = file_iri("endless", "numbers");
    let counted = |line: &str| -> Option<u64> {
        let count = line.strip_prefix("\x1b[2K<numbers> ")?.split(" msg").next()?;
        count.replace(',', "").parse().ok().filter(|n| *n > 0)
    };
    let address = run.address();
    let first_runaway = in_flight(&address, RUNAWAY);
    // While it runs, the state graph still moves and /metrics still answers.
    run.wait_for(|l| counted(l).is_some());
    let before = messages_of(&run.endpoint, &numbers);
    run.wait_for(|l| counted(l).is_some_and(|n| n > before));
    run.wait_for(|l| counted(l).is_some_and(|n| n > before));
    let after = messages_of(&run.endpoint, &numbers);
    assert!(after > before, "the state graph did not move: {after} <= {before}");
    let (status, _, metrics) = http(&address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200, "{metrics}");

    // Four at once; the fifth is told the endpoint is busy.
    let mut runaways = vec![first_runaway];
    runaways.extend((0..3).map(|_| in_flight(&address, RUNAWAY)));
    assert_eq!(until_status(&address, "ASK {}", 503), BUSY);
    let (status, _, _) = http(&address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);

    // Their clients leave: the queries are cancelled and give their places back, long before
    // their deadline.
    drop(runaways);
    assert_eq!(until_status(&address, "ASK {}", 200), "true");

    // A runaway in flight does not hold up SIGTERM.
    let _last = in_flight(&address, RUNAWAY);
    assert_eq!(until_status(&address, "ASK {}", 200), "true");
    let status = Command::new("kill").args(["-TERM", &run.pid().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let (exited, exit) = mpsc::channel();
    let mut child = run.take_child();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait().expect("riffle exits").code());
    });
    assert_eq!(exit.recv_timeout(SAFETY).expect("riffle exits while a query runs"), Some(143));
    assert!(support::processes_tagged(&tag).is_empty());
}

#[test]
fn a_query_past_its_deadline_is_cancelled_and_answered_503() {
    let tag = support::unique_tag();
    // The pipeline after a bare --sparql is the pipeline, not an address.
    let mut run = LiveRun::start_with(
        "two-runners",
        &tag,
        &["run", "--sparql", "pipeline.ttl", "--keep-serving", "--query-timeout", "0.5"],
    );
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    let (status, content_type, body) = post(&run.address(), RUNAWAY);
    assert_eq!((status, content_type.as_str()), (503, "text/plain; charset=utf-8"));
    assert_eq!(body, "the query ran longer than 0.5 s (--query-timeout) and was cancelled\n");
    // A runaway in flight does not hold up Ctrl-C either; the exit code is the run's.
    let _runaway = in_flight(&run.address(), RUNAWAY);
    assert_eq!(run.finish(), Some(0));
    assert!(support::processes_tagged(&tag).is_empty());
}

#[test]
fn hostile_queries_are_refused_and_the_run_goes_on() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start("two-runners", &tag, &["--query-max-rows", "100", "--query-max-mib", "1"]);
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    let address = run.address();

    // A thousand nested groups (2 KB) would overflow the parser's stack.
    let deep = format!("SELECT * WHERE {}{}", "{".repeat(1000), "}".repeat(1000));
    let (status, _, body) = post(&address, &deep);
    assert_eq!(status, 400);
    assert_eq!(body, "the query nests `{`, `(` or `[` deeper than 64 levels; it is refused unparsed\n");

    // Past 64 KiB a query is refused before parsing; below that, 400 patterns that share a variable
    // (which oxigraph's optimiser, uncancellable, would chew on for minutes) run unoptimised.
    let long = format!("ASK {{ {} }}", "?s <urn:p> ?o . ".repeat(5000));
    let (status, _, body) = post(&address, &long);
    assert_eq!(
        (status, body.as_str()),
        (400, "the query is 80008 bytes long, more than the limit of 65536; it is refused unparsed\n")
    );
    let patterns: String = (0..400).map(|i| format!("?a <urn:p{i}> ?b . ")).collect();
    let (status, _, body) = post(&address, &format!("ASK {{ {patterns} }}"));
    assert_eq!((status, body.as_str()), (200, "false"));

    // Updates are refused as such, whichever way they come.
    let read_only =
        "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, \
ADD) is refused; ask with SELECT, ASK, CONSTRUCT or DESCRIBE\n";
    for update in [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "PREFIX x: <urn:x#>\nDELETE WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/>",
    ] {
        assert_eq!(post(&address, update), (403, "text/plain; charset=utf-8".to_string(), read_only.to_string()));
    }
    let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("query", "CLEAR ALL").finish();
    let (status, _, body) = http(
        &address,
        &format!(
            "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!((status, body.as_str()), (403, read_only));

    // Results past the caps are refused with the cap named.
    let (status, _, body) = post(&address, "SELECT * WHERE { ?s ?p ?o }");
    assert_eq!(
        (status, body.as_str()),
        (413, "the result has more than 100 rows (--query-max-rows); ask for fewer (LIMIT)\n")
    );
    let construct = post_request("CONSTRUCT WHERE { ?s ?p ?o }").replace("text/csv", "application/n-triples");
    let (status, _, body) = http(&address, &construct);
    assert_eq!(
        (status, body.as_str()),
        (413, "the result has more than 100 rows (--query-max-rows); ask for fewer (LIMIT)\n")
    );
    // One row, but megabytes long.
    let wide = "SELECT (GROUP_CONCAT(STR(?o)) AS ?all) WHERE { ?a ?b ?c . ?s ?p ?o FILTER(isLiteral(?o)) }";
    let (status, _, body) = post(&address, wide);
    assert_eq!(
        (status, body.as_str()),
        (413, "the result is larger than 1 MiB (--query-max-mib); ask for less (LIMIT, fewer variables)\n")
    );

    // A syntax error is short: where, and what was expected there.
    let (status, _, body) = post(&address, "SELECT * WHERE { ?s ?p ?o");
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "the query does not parse: line 1, column 26, at the end: expected one of \",\", \".\", \";\", \"{\", \"{|\", \
\"}\", \"~\" or a name or value\n"
    );

    // Through `riffle query --endpoint`, a refused query exits 2, as a local one does.
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["query", "--endpoint", &run.endpoint, "SELECT * WHERE { ?s ?p ?o"])
        .output()
        .expect("riffle query runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("answered 400: the query does not parse"));

    // Still answering, with Riffle's prefixes declared, and a query's own declaration winning.
    let numbers = file_iri("two-runners", "numbers");
    let (status, _, body) = post(&address, "SELECT ?n WHERE { ?c riffle:messages ?n; a riffle:PlannedChannel }");
    assert_eq!((status, body.as_str()), (200, "n\r\n100000\r\n"));
    let (status, _, body) = post(&address, "PREFIX riffle: <urn:elsewhere#> SELECT ?n WHERE { ?c riffle:messages ?n }");
    assert_eq!((status, body.as_str()), (200, "n\r\n"));
    assert_eq!(messages_of(&run.endpoint, &numbers), 100000);
    assert_eq!(run.finish(), Some(0));
    assert!(support::processes_tagged(&tag).is_empty());
}

#[test]
fn the_help_example_for_an_endpoint_needs_no_prefix() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start("two-runners", &tag, &[]);
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    let numbers = file_iri("two-runners", "numbers");
    let csv = query(&run.endpoint, "SELECT ?channel ?n WHERE { ?channel riffle:messages ?n }", "csv");
    assert_eq!(csv, format!("channel,n\r\n{numbers},100000\r\n"));
    assert_eq!(run.finish(), Some(0));
}

/// `riffle top` in a pseudo-terminal (`script` makes one) of 30 rows and 120 columns: what it drew,
/// read back through a terminal emulator, once `done` holds of the screen; then `q` quits it.
fn top_screen(fixture_name: &str, endpoint: &str, mut done: impl FnMut(&str) -> bool) -> (String, Option<i32>) {
    use std::io::{Read, Write};
    // Only this test's own values reach the shell: the binary's path and an endpoint riffle printed.
    let command = format!("stty rows 30 cols 120; exec '{}' top --endpoint '{endpoint}'", env!("CARGO_BIN_EXE_riffle"));
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(fixture(fixture_name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let (sender, bytes) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut terminal = vt100::Parser::new(30, 120, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let screen = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match bytes.recv_timeout(left) {
            Ok(chunk) => terminal.process(&chunk),
            Err(_) => panic!("riffle top never showed what was expected:\n{}", terminal.screen().contents()),
        }
        let screen = terminal.screen().contents();
        if done(&screen) {
            break screen;
        }
    };
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = child.wait().unwrap();
    (screen, status.code())
}

#[test]
fn riffle_top_shows_every_channel_and_processor_with_the_summarys_figures() {
    let tag = support::unique_tag();
    let mut run = LiveRun::start("two-runners", &tag, &[]);
    run.wait_for(|l| l.starts_with("riffle: the run has ended; still serving "));
    let (screen, code) =
        top_screen("two-runners", &run.endpoint, |s| s.contains("run: Finished") && s.matches("Finished").count() == 3);
    assert_eq!(code, Some(0), "{screen}");
    let rows: Vec<Vec<&str>> = screen
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' ').split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.first().is_some_and(|c| c.starts_with('<')))
        .collect();
    // Channel, messages, bytes, rate, queued, blocked seconds; processor, runner, state, time.
    assert_eq!(rows.len(), 3, "{screen}");
    // The rate is the last one measured, whatever it was.
    assert_eq!(rows[0][..3], ["<numbers>", "100,000", "6,400,000"], "{screen}");
    assert!(rows[0][3].ends_with("/s"), "{screen}");
    assert_eq!(rows[0][4], "0", "{screen}");
    assert_eq!(rows[1][..3], ["<count>", "rust-2", "Finished"], "{screen}");
    assert_eq!(rows[2][..3], ["<gen>", "rust", "Finished"], "{screen}");
    assert!(screen.starts_with(&format!("riffle top  {}  run: Finished", run.endpoint)), "{screen}");
    assert_eq!(run.finish(), Some(0));
}

#[test]
fn riffle_top_redraws_counts_that_grow_while_the_run_goes_on() {
    let tag = support::unique_tag();
    let run = LiveRun::start_with("endless", &tag, &["run", "pipeline.ttl", "--sparql"]);
    let mut first = None;
    let (screen, code) = top_screen("endless", &run.endpoint, |screen| {
        let Some(count) = screen
            .lines()
            .find_map(|l| l.trim_start_matches(['│', ' ']).strip_prefix("<numbers>"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.replace(',', "").parse::<u64>().ok())
        else {
            return false;
        };
        let running = screen.contains("run: Running");
        match first {
            None if count > 0 && running => {
                first = Some(count);
                false
            }
            Some(before) => running && count > before,
            None => false,
        }
    });
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Running"), "{screen}");
    assert_eq!(run.finish(), Some(130));
}

#[test]
fn riffle_top_refuses_to_draw_anywhere_but_a_terminal() {
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["top", "--endpoint", "http://127.0.0.1:9/sparql"])
        .stdout(Stdio::piped())
        .output()
        .expect("riffle runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: riffle top draws on a terminal; to read the state as data, use `riffle query --endpoint`\n"
    );
}
