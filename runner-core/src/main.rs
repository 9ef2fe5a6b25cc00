//! The `riffle` command line. Exit codes: 0 success, 1 failure while working, 2 a pipeline or
//! query that is wrong (nothing was started).

use anyhow::Context;
use clap::{Parser, Subcommand};
use riffle_core::drawing::{self, DrawingFormat};
use riffle_core::live::{self, server, Live};
use riffle_core::names::Names;
use riffle_core::plan::Transport;
use riffle_core::problem::{report, Severity};
use riffle_core::query::{self, OutputFormat};
use riffle_core::resolve::{resolve, Options, Resolution};
use riffle_core::run::{Outcome, Reporter, RunOptions};
use riffle_core::runners::{find_program, Runners};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "riffle",
    version,
    about = "Run linked-data pipelines of processors written in Rust, JavaScript and Java."
)]
#[command(long_about = "Riffle loads a pipeline described in RDF (RDF-Connect or the older connector architecture), \
resolves it with SPARQL into a plan, and runs one runner per language, wiring processors together over \
in-memory, TCP or WebSocket channels.")]
#[command(
    after_help = "Examples:\n  riffle validate pipelines/rdfc-echo/pipeline.ttl\n  riffle plan pipeline.ttl > plan.json\n  \
riffle query pipeline.ttl 'SELECT ?p ?runner WHERE { ?p <https://w3id.org/riffle#runsOn> ?runner }'\n  riffle graph pipeline.ttl --format mermaid\n  riffle runners"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline: start its runners, connect its channels, and stop when every processor finished.
    #[command(
        after_help = "Exit codes: 0 finished, 1 a processor or runner failed, 2 the pipeline is invalid (nothing \
started), 130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP: the terminal closed). A second Ctrl-C kills the runners at once.\n\nExamples:\n  \
riffle run pipelines/rust-generate-count/pipeline.ttl\n  riffle run pipeline.ttl --transport websocket --quiet\n  \
riffle run pipeline.ttl --listen 10.0.0.5:7000 --external rust-2   # rust-2 joins from another host\n  \
riffle run --sparql pipeline.ttl --keep-serving   # SPARQL and /metrics on a free loopback port\n  \
riffle run pipeline.ttl --sparql=127.0.0.1:7000 --query-timeout 30\n  \
riffle run --dashboard pipeline.ttl --keep-serving   # open the printed http://127.0.0.1:PORT/ in a browser\n\n\
The SPARQL endpoint is read-only; each query has a deadline (--query-timeout, then 503), a result cap \
(--query-max-rows, --query-max-mib, then 413), and at most 4 run at once (more are answered 503, busy); \
a query in flight never holds up the run, its state graph, /metrics, or riffle's exit."
    )]
    Run(RunArgs),
    /// Make a secret file for runs whose secret is made ahead (`riffle run --secret-file`, a Kubernetes
    /// Secret): a new secret on the first line, then a new TLS certificate and key for encrypted runs.
    #[command(
        after_help = "Example:\n  riffle secret run.secret && kubectl create secret generic riffle-run --from-file=secret=run.secret"
    )]
    Secret {
        /// The file to create (mode 600); an existing file is never overwritten.
        file: PathBuf,
    },
    /// Check a pipeline without starting anything: prints a one-line summary, or every problem (exit 2).
    #[command(after_help = "Example:\n  riffle validate pipelines/conn-substitute/pipeline.ttl")]
    Validate {
        /// The pipeline file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).
        pipeline: PathBuf,
        /// Also print notes: processors the pipeline does not list, channels nobody uses, statements
        /// of large imports that are not connected to the pipeline.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the resolved plan as JSON: runners with their argv, processors with typed arguments, channels.
    #[command(after_help = "Example:\n  riffle plan pipeline.ttl | jq '.processors[].arguments'")]
    Plan {
        /// The pipeline file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).
        pipeline: PathBuf,
        /// Write the plan to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Run a SPARQL query over the pipeline's graphs and its plan graph <urn:riffle:plan>, or over a
    /// running pipeline's endpoint, which adds its live state graph <urn:riffle:state>.
    #[command(
        after_help = "The default graph is the union of every loaded file and the plan graph; each file is also a \
named graph (its file: IRI). The prefixes rdf, rdfs, xsd, owl, sh, rdfc, conn, js, ws, riffle, rdfl, fno and fnom \
are declared for every query (a PREFIX in the query wins). Queries are read-only: SPARQL Update is refused; so \
is a query nesting {, ( or [ more than 64 deep.\n\nExit codes: 0 answered, 2 the query or the pipeline was refused \
(locally, or by the endpoint with a 4xx answer), 1 the endpoint could not be reached or failed.\n\nExamples:\n  riffle query pipeline.ttl 'SELECT * WHERE { ?channel riffle:transport ?t }'\n  \
riffle query pipeline.ttl -f questions/cross-runner.rq --format csv\n  riffle query pipeline.ttl 'CONSTRUCT WHERE { ?s ?p ?o }' --format ntriples\n  \
riffle query --endpoint http://127.0.0.1:7000/sparql 'SELECT ?channel ?n WHERE { ?channel riffle:messages ?n }'"
    )]
    Query {
        /// The pipeline file; leave it out with --endpoint.
        #[arg(value_name = "PIPELINE")]
        pipeline: Option<String>,
        /// The query text (SELECT, ASK, CONSTRUCT or DESCRIBE).
        #[arg(conflicts_with = "file")]
        query: Option<String>,
        /// Ask a running pipeline (`riffle run --sparql`) or any SPARQL endpoint at this URL instead
        /// of loading a pipeline file.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Read the query from a file instead.
        #[arg(short, long)]
        file: Option<PathBuf>,
        /// Output format [default: table on a terminal, json otherwise; turtle for graphs].
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
    },
    /// Watch a running pipeline in the terminal: a row per channel (messages, bytes, rate, queue,
    /// time blocked) and per processor (runner, state, time), redrawn every second.
    #[command(
        after_help = "It asks the SPARQL endpoint of `riffle run --sparql` (the address is printed when the run \
starts; add --keep-serving to look after the run ended). q, Esc or Ctrl-C quits. It only reads.\n\nExample:\n  \
riffle run pipeline.ttl --sparql=127.0.0.1:7000 &\n  riffle top --endpoint http://127.0.0.1:7000/sparql"
    )]
    Top {
        /// The endpoint of a running pipeline (`riffle run --sparql`).
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Seconds between redraws.
        #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
        interval: f64,
    },
    /// Draw processors (grouped by runner instance) and channels (labelled with transport).
    #[command(after_help = "Example:\n  riffle graph pipeline.ttl --format dot | dot -Tsvg > pipeline.svg")]
    Graph {
        /// The pipeline file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).
        pipeline: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: DrawingFormat,
    },
    /// List the known runners (bundled: Rust, JavaScript, Java, Python; and those PIPELINE declares),
    /// what they handle, and whether each is ready: its program, the files it starts, its interpreter's
    /// version; with the fix for what is missing.
    #[command(
        after_help = "The bundled runners need Node.js 20 or later (JavaScript), Java 17 or later (Java) and Python \
3.11 or later (Python: the pipeline's .venv, else python3; its interpreter is shown). Their files are found beside the \
riffle executable (<home>/bin/riffle, <home>/runners), else in the source tree riffle was built from; RIFFLE_HOME=<home> \
overrides that. The first line says which folder is used.\n\nExample:\n  riffle runners\n  riffle runners pipeline.ttl"
    )]
    Runners { pipeline: Option<PathBuf> },
    /// Check a runner for a new language against the conformance kit, with the Rust runner as its peer.
    #[command(after_help = "RUNNER is a runner.ttl path, a runner IRI (riffle:JsRunner) or a bundled runner's name \
(rust, js, java, python). Its conformance.ttl, next to its runner.ttl, says how it implements the kit's processors; see \
docs/adding-a-runner.md. Exit code 0 only when every case passed.\n\nExamples:\n  riffle conformance js\n  \
riffle conformance runners/python/runner.ttl --transport websocket --case fan-in")]
    Conformance {
        runner: String,
        /// Only this transport; both otherwise.
        #[arg(long, value_enum)]
        transport: Option<NetworkChoice>,
        /// Only this case; repeatable. All cases otherwise.
        #[arg(long = "case", value_name = "NAME")]
        cases: Vec<String>,
    },
    /// Measure Riffle beside a raw baseline measured in the same run: resolution, loading, channels,
    /// whole pipelines in every runner's language, the live endpoint's cost, memory over time.
    #[command(
        after_help = "Each figure is a median over --runs, printed beside its baseline and the ratio to it; the \
machine's noise hurts both alike.\n\nExamples:\n  riffle bench plan --processors 1000 --runs 7\n  riffle bench load --mib 50\n  \
riffle bench run --runs 3\n  riffle bench js --scale 0.1\n  riffle bench python --runs 3"
    )]
    Bench {
        #[command(subcommand)]
        what: BenchTarget,
    },
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("serving").args(["sparql", "dashboard"]).multiple(true)))]
struct RunArgs {
    /// The pipeline file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).
    pipeline: PathBuf,
    /// Carry every channel over this transport, whatever the pipeline says (memory needs all
    /// ends of a channel in one runner instance).
    #[arg(long, value_enum)]
    transport: Option<TransportChoice>,
    /// Where the control endpoint listens, HOST:PORT (an address or a host name, resolved once, its
    /// IPv4 address first); runners on other hosts need a non-loopback address.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = resolve_listen)]
    listen: std::net::SocketAddr,
    /// Only warnings, errors and the outcome.
    #[arg(short, long)]
    quiet: bool,
    #[arg(long, value_enum, default_value = "text")]
    log_format: riffle_core::run::LogFormat,
    /// The live progress line (messages and rate per channel) on stderr: `auto` draws it when
    /// stderr is a terminal and the log format is text.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressChoice,
    /// Seconds runners have to start and connect.
    #[arg(long, default_value_t = 30)]
    connect_timeout: u64,
    /// Seconds runners have to stop after being asked (Ctrl-C, a failure, the end) before they
    /// are killed; a second Ctrl-C kills at once.
    #[arg(long, default_value_t = 2.0)]
    stop_grace: f64,
    /// Seconds of silence on a runner's control connection (no answer to the pings sent five times
    /// within it) after which the run fails, naming the runner and its host; runners exit after as
    /// long without hearing from riffle. The default keeps a failed host's run, its stop included,
    /// within 5 s. 0 waits for as long as the connections stay open. Raise it for processors that
    /// block their runner (a JavaScript or Python event loop) for longer.
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = heartbeat_seconds)]
    heartbeat_timeout: Duration,
    /// The run's secret: the first line of this file, which only its owner may read (a Kubernetes
    /// Secret, say), instead of a new one per run. The printed commands for `--external` runners name it.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<std::path::PathBuf>,
    /// Encrypt every control and data connection (TLS, with a certificate made for the run and pinned by
    /// every runner) even on loopback. A run whose --listen is beyond loopback is always encrypted.
    #[arg(long)]
    tls: bool,
    /// The host name or address other hosts reach this one by, for the command printed for
    /// `--external` runners (by default the `--listen` host, or this host's name when that is a
    /// wildcard such as 0.0.0.0).
    #[arg(long, value_name = "HOST")]
    advertise: Option<String>,
    /// Do not start this runner instance (see `riffle plan` for ids): you start it, by hand or
    /// on another host, with the variables Riffle prints. Repeatable.
    #[arg(long, value_name = "RUNNER_ID")]
    external: Vec<String>,
    /// Serve SPARQL (read-only) over the pipeline, its plan and its live state at
    /// http://ADDR/sparql, and Prometheus metrics at /metrics: loopback and a free port, or
    /// `--sparql=ADDR` (with `=`, so a pipeline after it stays the pipeline).
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "127.0.0.1:0"
    )]
    sparql: Option<std::net::SocketAddr>,
    /// Serve a live dashboard (the pipeline as a graph, rates, queues, states, runners, log,
    /// failures, a SPARQL box) at http://ADDR/, which it prints before any runner starts:
    /// loopback and a free port, or `--dashboard=ADDR`. It only reads; it also serves /sparql.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "127.0.0.1:0"
    )]
    dashboard: Option<std::net::SocketAddr>,
    /// With --sparql or --dashboard: keep serving after the run ends, until Ctrl-C, to look at
    /// the outcome.
    #[arg(long, requires = "serving")]
    keep_serving: bool,
    /// With --sparql or --dashboard: seconds a query may run; then it is cancelled and answered 503.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, requires = "serving")]
    query_timeout: f64,
    /// With --sparql or --dashboard: the most rows (or triples) one answer may hold; more is
    /// answered 413.
    #[arg(long, value_name = "ROWS", default_value_t = 100_000, requires = "serving")]
    query_max_rows: u64,
    /// With --sparql or --dashboard: the most MiB one answer may take; more is answered 413.
    #[arg(long, value_name = "MIB", default_value_t = 64, requires = "serving")]
    query_max_mib: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProgressChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TransportChoice {
    Memory,
    Tcp,
    #[value(name = "websocket", alias = "ws")]
    WebSocket,
}

/// The transports between runner processes (the conformance kit's peers are always two processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum NetworkChoice {
    Tcp,
    #[value(name = "websocket", alias = "ws")]
    WebSocket,
}

impl From<NetworkChoice> for Transport {
    fn from(choice: NetworkChoice) -> Transport {
        match choice {
            NetworkChoice::Tcp => Transport::Tcp,
            NetworkChoice::WebSocket => Transport::WebSocket,
        }
    }
}

impl From<TransportChoice> for Transport {
    fn from(choice: TransportChoice) -> Transport {
        match choice {
            TransportChoice::Memory => Transport::Memory,
            TransportChoice::Tcp => Transport::Tcp,
            TransportChoice::WebSocket => Transport::WebSocket,
        }
    }
}

#[derive(Subcommand)]
enum BenchTarget {
    /// `riffle plan` on a generated chain of N processors and N channels, and the start-up cost of
    /// the bundled ontology.
    Plan {
        #[arg(long, default_value_t = 1000)]
        processors: usize,
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Whole pipelines through `riffle run` (Generator to Counter) over memory, TCP and WebSocket at
    /// 64 B, 1 KiB and 64 KiB, beside the raw link of each transport, with peak memory of the
    /// process tree; then the start-up time of a two-runner pipeline.
    Run {
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Multiply every case's message count (0.1 for a quick look).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Only this transport.
        #[arg(long, value_enum)]
        transport: Option<TransportChoice>,
    },
    /// What `riffle run --sparql` costs: a two-runner TCP pipeline with and without the endpoint,
    /// polled every 100 ms (a SPARQL question and a /metrics scrape).
    Live {
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Multiply the message count (4,000,000 at 1.0).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Pipelines with the JavaScript runner beside raw Node links, and RDF-Connect class processors
    /// beside RDF-Connect's own figures.
    Js {
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Multiply every case's message count (0.1 for a quick look).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// The Java runner: Java to Java in one JVM, Rust to Java and Java to Rust over TCP beside raw links,
    /// and the JVM's start-up to its first message.
    Java {
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Multiply every case's message count (0.1 for a quick look).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// The Python runner: Python to Python in one runner beside an asyncio queue, Rust to Python and
    /// Python to Rust over TCP beside raw asyncio links, and the start-up to the first message.
    Python {
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Multiply every case's message count (0.1 for a quick look).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// A three-language pipeline (Rust, JavaScript, Java, Rust over TCP) moving 1 KiB messages for
    /// minutes: resident memory of every process after a warm-up and at the end, and zero loss.
    Soak {
        /// How long to move messages at least (a calibration run sets the message count to match).
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
    },
    /// Validating a pipeline that imports a large file of irrelevant triples, beside oxigraph's own
    /// bulk load of the same file: time and peak memory, each in a fresh process.
    Load {
        /// Size of the generated file in MiB.
        #[arg(long, default_value_t = 50)]
        mib: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// One measurement of `riffle bench load`, in its own process.
    #[command(hide = true)]
    LoadOnce {
        #[arg(value_enum)]
        subject: riffle_core::bench::load::Subject,
        file: PathBuf,
    },
    /// The reading half of a raw link, in its own process, for `riffle bench run`.
    #[command(hide = true)]
    RawReader {
        #[arg(long, value_enum)]
        transport: NetworkChoice,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            // What the user gave is wrong (2, as for an invalid pipeline), or something failed (1).
            ExitCode::from(if error.is::<BadInput>() { 2 } else { 1 })
        }
    }
}

/// An argument that cannot be used as given: a pipeline file that does not exist, say.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

fn resolved(pipeline: &Path) -> anyhow::Result<Resolution> {
    resolved_with(pipeline, &Options::default())
}

fn resolved_with(pipeline: &Path, options: &Options<'_>) -> anyhow::Result<Resolution> {
    if !pipeline.exists() {
        return Err(BadInput(format!("{} does not exist", pipeline.display())).into());
    }
    Ok(resolve(pipeline, options))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    match cli.command {
        Command::Run(args) => return run_pipeline(args),
        Command::Secret { file } => {
            return match riffle_core::run::make_secret(&file) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(why) => {
                    eprintln!("error: {why}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Validate { pipeline, verbose } => {
            let resolution = resolved(&pipeline)?;
            if !resolution.problems.is_empty() {
                eprint!("{}", report(&resolution.problems));
                return Ok(ExitCode::from(2));
            }
            eprint!("{}", notices(&resolution.notices, verbose));
            println!("{}", resolution.plan.summary());
        }
        Command::Plan { pipeline, output } => {
            let resolution = resolved(&pipeline)?;
            if !resolution.problems.is_empty() {
                eprint!("{}", report(&resolution.problems));
                return Ok(ExitCode::from(2));
            }
            let json = serde_json::to_string_pretty(&resolution.plan)? + "\n";
            match output {
                Some(path) => {
                    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => stdout.lock().write_all(json.as_bytes())?,
            }
        }
        Command::Query { pipeline, query, endpoint, file, format } => {
            // On a thread with a large stack: deep but accepted queries parse and evaluate recursively.
            let worker = std::thread::Builder::new()
                .name("riffle-query".into())
                .stack_size(query::QUERY_STACK)
                .spawn(move || query_command(pipeline, query, endpoint, file, format))?;
            return worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        Command::Top { endpoint, interval } => {
            if !(interval > 0.0 && interval <= 3600.0) {
                return Err(BadInput(format!("--interval {interval}: give seconds between 0 and 3600")).into());
            }
            if !std::io::stdout().is_terminal() {
                return Err(BadInput(
                    "riffle top draws on a terminal; to read the state as data, use `riffle query --endpoint`".into(),
                )
                .into());
            }
            let names = Names::new(riffle_core::fileurl::folder_of(&std::env::current_dir()?.join("top")));
            riffle_core::top::run(&endpoint, Duration::from_secs_f64(interval), &names)?;
        }
        Command::Graph { pipeline, format } => {
            let resolution = resolved(&pipeline)?;
            if !resolution.problems.is_empty() {
                eprint!("{}", report(&resolution.problems));
                return Ok(ExitCode::from(2));
            }
            print!("{}", drawing::draw(&resolution.plan, &resolution.loaded.names, format));
        }
        Command::Runners { pipeline } => {
            let (store, names, dir) = match &pipeline {
                Some(path) => {
                    let resolution = resolved(path)?;
                    if !resolution.loaded.problems.is_empty() {
                        eprint!("{}", report(&resolution.loaded.problems));
                        return Ok(ExitCode::from(2));
                    }
                    let dir = resolution.plan.working_dir.clone();
                    (resolution.loaded.store, resolution.loaded.names, PathBuf::from(dir))
                }
                None => {
                    let loaded = riffle_core::loader::load_bundled();
                    (loaded.store, loaded.names, std::env::current_dir()?)
                }
            };
            let runners = Runners::load(&store);
            // Every runner is checked at once: asking an interpreter its version takes a while.
            let checks: Vec<(Option<PathBuf>, riffle_core::runners::Readiness)> = std::thread::scope(|scope| {
                let handles: Vec<_> = runners
                    .list
                    .iter()
                    .map(|runner| {
                        let dir = &dir;
                        scope.spawn(move || {
                            let program = runner.argv.first().cloned().unwrap_or_default();
                            let found = find_program(&program, dir);
                            let readiness = if found.is_some() {
                                riffle_core::runners::check(runner, dir)
                            } else {
                                Default::default()
                            };
                            (found, readiness)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
            });
            let mut out = stdout.lock();
            writeln!(out, "runner files: {}", riffle_core::bundled::locate().describe())?;
            for (runner, (found, readiness)) in runners.list.iter().zip(checks) {
                let program = runner.argv.first().cloned().unwrap_or_default();
                writeln!(out, "{}  {}", names.iri(runner.iri.as_str()), runner.label.clone().unwrap_or_default())?;
                let handles: Vec<String> = runner
                    .subjects_of
                    .iter()
                    .map(|p| format!("subjects of {}", names.iri(p.as_str())))
                    .chain(runner.instances_of.iter().map(|m| format!("instances of {}", names.iri(m.as_str()))))
                    .collect();
                writeln!(
                    out,
                    "  handles:  {}",
                    if handles.is_empty() { "nothing".into() } else { handles.join(", ") }
                )?;
                if !runner.replaces.is_empty() {
                    let replaced: Vec<String> = runner.replaces.iter().map(|r| names.iri(r.as_str())).collect();
                    writeln!(out, "  replaces: {}", replaced.join(", "))?;
                }
                writeln!(out, "  argv:     {}", serde_json::to_string(&runner.argv)?)?;
                let shown = names.iri(runner.iri.as_str());
                let mut problems: Vec<riffle_core::problem::ProblemKind> = Vec::new();
                match &found {
                    Some(path) => writeln!(out, "  program:  {} (found: {})", program, path.display())?,
                    None => {
                        writeln!(out, "  program:  {} (NOT FOUND beside riffle or on PATH)", program)?;
                        problems.push(riffle_core::problem::ProblemKind::ProgramNotFound {
                            runner: shown.clone(),
                            program: program.clone(),
                            hint: runner.install_hint.clone(),
                        });
                    }
                }
                if let Some(interpreter) = &readiness.interpreter {
                    let needs =
                        runner.minimum_version.as_ref().map(|m| format!(" (needs {m} or later)")).unwrap_or_default();
                    writeln!(out, "  version:  {interpreter}{needs}")?;
                }
                problems.extend(readiness.missing.iter().map(|m| m.kind(runner, shown.clone())));
                if problems.is_empty() {
                    writeln!(out, "  ready:    yes")?;
                }
                for problem in &problems {
                    writeln!(out, "  NOT READY: {problem}\n    fix: {}", problem.help())?;
                }
            }
        }
        Command::Conformance { runner, transport, cases } => {
            let options = riffle_core::conformance::Options { transport: transport.map(Transport::from), cases };
            let all_passed = riffle_core::conformance::run(&runner, &options, &mut stdout.lock())?;
            return Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        Command::Bench { what: BenchTarget::Plan { processors, runs } } => {
            riffle_core::bench::plan(processors, runs.max(1), &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Run { runs, scale, transport } } => {
            let only = transport.map(|t| match t {
                TransportChoice::Memory => "memory",
                TransportChoice::Tcp => "tcp",
                TransportChoice::WebSocket => "websocket",
            });
            riffle_core::bench::pipeline::run(runs.max(1), scale, only, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Live { runs, scale } } => {
            riffle_core::bench::live::run(runs.max(1), scale, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Java { runs, scale } } => {
            riffle_core::bench::java::run(runs.max(1), scale, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Js { runs, scale } } => {
            riffle_core::bench::js::run(runs.max(1), scale, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Python { runs, scale } } => {
            riffle_core::bench::python::run(runs.max(1), scale, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Soak { minutes } } => {
            riffle_core::bench::soak::run(minutes, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::Load { mib, runs } } => {
            riffle_core::bench::load::run(mib.max(1), runs.max(1), &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::LoadOnce { subject, file } } => {
            riffle_core::bench::load::load_once(subject, &file, &mut stdout.lock())?;
        }
        Command::Bench { what: BenchTarget::RawReader { transport } } => {
            let transport = if transport == NetworkChoice::WebSocket { "websocket" } else { "tcp" };
            riffle_core::bench::pipeline::raw_reader(transport, &mut stdout.lock())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `riffle query`, over a pipeline file or an endpoint.
fn query_command(
    pipeline: Option<String>,
    query: Option<String>,
    endpoint: Option<String>,
    file: Option<PathBuf>,
    format: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    // With --endpoint there is no pipeline: the one positional argument given is the query.
    let (pipeline, query) = match (&endpoint, pipeline, query) {
        (Some(_), Some(query), None) if file.is_none() => (None, Some(query)),
        (Some(_), Some(_), _) => anyhow::bail!("with --endpoint, give the query (or -f FILE) but no pipeline"),
        (None, None, _) => anyhow::bail!("give a pipeline file, or --endpoint URL"),
        (_, pipeline, query) => (pipeline.map(PathBuf::from), query),
    };
    let text = match (query, file) {
        (Some(q), None) => q,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("cannot read query file {}", f.display()))?
        }
        (None, None) => anyhow::bail!("give the query text, or -f FILE"),
        (Some(_), Some(_)) => anyhow::bail!("give the query text or -f FILE, not both"),
    };
    let terminal = stdout.is_terminal();
    if let Some(url) = endpoint {
        let mut out = stdout.lock();
        // IRIs under the current folder print relative to it, as they do for a pipeline there.
        let names = Names::new(riffle_core::fileurl::folder_of(&std::env::current_dir()?.join("query")));
        if let Err(error) = live::client::run(&url, &text, &names, format, terminal, &mut out) {
            out.flush()?;
            eprintln!("error: {error}");
            // A query the endpoint refused is the query's fault, as it is locally.
            return Ok(ExitCode::from(if error.is_bad_input() { 2 } else { 1 }));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let pipeline = pipeline.expect("a pipeline when there is no endpoint");
    let resolution = resolved(&pipeline)?;
    if !resolution.problems.is_empty() {
        // Questions about a pipeline that does not validate are still worth answering,
        // unless its files could not even be read.
        eprint!(
            "warning: the pipeline has problems; answering from what resolved.\n{}",
            report(&resolution.problems).replace("nothing was started.", "see `riffle validate`.")
        );
        if !resolution.loaded.problems.is_empty() {
            return Ok(ExitCode::from(2));
        }
    }
    let mut out = stdout.lock();
    if let Err(error) =
        query::run(&resolution.loaded.store, &resolution.loaded.names, &text, format, terminal, &mut out)
    {
        out.flush()?;
        eprintln!("error: {error}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--heartbeat-timeout`: seconds, fractions allowed; 0 turns heartbeats off.
fn heartbeat_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| d.is_zero() || *d >= Duration::from_millis(100))
        .ok_or_else(|| "give a number of seconds: 0.1 or more, or 0 for no heartbeats".to_string())
}

/// `--listen HOST:PORT`: an address, or a host name resolved now (its first IPv4 address, else its first).
fn resolve_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let addresses: Vec<std::net::SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("{e}; give HOST:PORT, an address or a host name with a port, such as 10.0.0.5:7000"))?
        .collect();
    addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| format!("{text} has no address"))
}

/// `--transport`: every channel on one transport. Memory cannot join runner instances, which is a
/// problem to report before anything starts.
fn run_pipeline(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs {
        pipeline,
        transport,
        listen,
        quiet,
        log_format,
        progress,
        connect_timeout,
        stop_grace,
        heartbeat_timeout,
        secret_file,
        tls,
        advertise,
        external,
        sparql,
        dashboard,
        keep_serving,
        query_timeout,
        query_max_rows,
        query_max_mib,
    } = args;
    let limits = server::Limits {
        timeout: Duration::try_from_secs_f64(query_timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| anyhow::anyhow!("--query-timeout {query_timeout}: give a number of seconds above 0"))?,
        max_rows: query_max_rows,
        max_bytes: query_max_mib.saturating_mul(1024 * 1024),
        ..server::Limits::default()
    };
    // A run checks its runners' files but does not ask their interpreters' versions (validate does).
    let options = Options { check_runner: &riffle_core::runners::check_files, ..Options::default() };
    let Resolution { loaded, mut plan, mut problems, notices: found } = resolved_with(&pipeline, &options)?;
    if problems.is_empty() {
        if let Some(forced) = transport {
            problems.extend(plan.force_transport(forced.into(), &loaded.names));
        }
    }
    if let Some(unknown) = external.iter().find(|id| !plan.runners.iter().any(|r| &r.id == *id)) {
        let ids: Vec<&str> = plan.runners.iter().map(|r| r.id.as_str()).collect();
        eprintln!("error: --external {unknown}: the plan has no such runner instance (it has: {})", ids.join(", "));
        return Ok(ExitCode::from(2));
    }
    if !problems.is_empty() {
        eprint!("{}", report(&problems));
        return Ok(ExitCode::from(2));
    }
    let secret = match secret_file.as_deref().map(riffle_core::run::GivenSecret::read).transpose() {
        Ok(secret) => secret,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let progress_line = match progress {
        ProgressChoice::Auto => std::io::stderr().is_terminal(),
        ProgressChoice::Always => true,
        ProgressChoice::Never => false,
    };
    let mut reporter = Reporter::new(log_format, quiet, progress_line, loaded.names.clone());
    for warning in found.iter().filter(|n| n.kind.severity() == Severity::Warning) {
        reporter.warn(&format!("{} ({})", warning.kind, warning.kind.code()));
    }
    let live = (sparql.is_some() || dashboard.is_some()).then(Live::default);
    let options = RunOptions {
        listen,
        connect_timeout: Duration::from_secs(connect_timeout),
        stop_grace: Duration::try_from_secs_f64(stop_grace)
            .map_err(|_| anyhow::anyhow!("--stop-grace {stop_grace}: give a number of seconds, 0 or more"))?,
        external,
        live: live.clone(),
        heartbeat: (!heartbeat_timeout.is_zero()).then_some(heartbeat_timeout),
        advertise,
        secret,
        tls,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        let mut serving = Vec::new();
        if let Some(live) = live {
            let mut listeners = Vec::new();
            for (address, site) in [(sparql, server::Site::Endpoint), (dashboard, server::Site::Dashboard)] {
                let Some(address) = address else { continue };
                let listener = match server::bind(address).await {
                    Ok(listener) => listener,
                    Err(why) => return Outcome::Failed(format!("{why}; nothing was started")),
                };
                let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| address.to_string());
                if !address.ip().is_loopback() {
                    reporter.warn(&format!(
                        "the {} listens on {address}: anyone who reaches it can read the pipeline, its arguments \
and its state",
                        if site == server::Site::Dashboard { "dashboard" } else { "SPARQL endpoint" }
                    ));
                }
                match site {
                    server::Site::Endpoint => reporter
                        .status(&format!("SPARQL endpoint http://{local}/sparql, metrics at http://{local}/metrics")),
                    server::Site::Dashboard => reporter.announce(&format!("dashboard: http://{local}/")),
                }
                serving.push(match site {
                    server::Site::Endpoint => format!("http://{local}/sparql"),
                    server::Site::Dashboard => format!("the dashboard at http://{local}/"),
                });
                listeners.push((listener, site));
            }
            let plan_json = live::dashboard::plan_json(&plan, &loaded.names);
            let served = server::Served { store: loaded.store, names: loaded.names, plan: plan_json, live, limits };
            server::serve(listeners, served);
        } else {
            // The store is not needed while the pipeline runs.
            drop(loaded);
        }
        let report = riffle_core::run::run(&plan, &options, &mut reporter).await;
        reporter.summary(&report, &plan);
        if keep_serving && !serving.is_empty() {
            reporter.status(&format!("the run has ended; still serving {} until Ctrl-C", serving.join(" and ")));
            wait_for_a_signal().await;
        }
        report.outcome
    });
    if let Outcome::Failed(why) = &outcome {
        eprintln!("error: {why}");
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

/// Warnings, and with `verbose` notes, each as the problem report prints it.
fn notices(found: &[riffle_core::problem::Problem], verbose: bool) -> String {
    found.iter().filter(|n| verbose || n.kind.severity() == Severity::Warning).map(|n| format!("{n}\n\n")).collect()
}

/// SIGINT, SIGTERM or SIGHUP.
async fn wait_for_a_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    // Without signal handlers nothing could end the wait: stop serving now.
    let signals = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    if let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = signals {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
    }
}
