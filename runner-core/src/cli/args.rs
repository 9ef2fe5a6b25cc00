//! The command line's shape: subcommands, their arguments and help text (clap), and the parsers of
//! argument values. What each subcommand does is in `commands/`.

use clap::{Parser, Subcommand};
use riffle_core::drawing::DrawingFormat;
use riffle_core::plan::Transport;
use riffle_core::query::OutputFormat;
use riffle_core::run::LogFormat;
use std::path::PathBuf;
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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        format: Option<OutputChoice>,
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
        format: DrawingChoice,
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
pub struct RunArgs {
    /// The pipeline file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).
    pub pipeline: PathBuf,
    /// Carry every channel over this transport, whatever the pipeline says (memory needs all
    /// ends of a channel in one runner instance).
    #[arg(long, value_enum)]
    pub transport: Option<TransportChoice>,
    /// Where the control endpoint listens, HOST:PORT (an address or a host name, resolved once, its
    /// IPv4 address first); runners on other hosts need a non-loopback address.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = resolve_listen)]
    pub listen: std::net::SocketAddr,
    /// Only warnings, errors and the outcome.
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormatChoice,
    /// The live progress line (messages and rate per channel) on stderr: `auto` draws it when
    /// stderr is a terminal and the log format is text.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressChoice,
    /// Seconds runners have to start and connect.
    #[arg(long, default_value_t = 30)]
    pub connect_timeout: u64,
    /// Seconds runners have to stop after being asked (Ctrl-C, a failure, the end) before they
    /// are killed; a second Ctrl-C kills at once.
    #[arg(long, default_value_t = 2.0)]
    pub stop_grace: f64,
    /// Seconds of silence on a runner's control connection (no answer to the pings sent five times
    /// within it) after which the run fails, naming the runner and its host; runners exit after as
    /// long without hearing from riffle. The default keeps a failed host's run, its stop included,
    /// within 5 s. 0 waits for as long as the connections stay open. Raise it for processors that
    /// block their runner (a JavaScript or Python event loop) for longer.
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = heartbeat_seconds)]
    pub heartbeat_timeout: Duration,
    /// The run's secret: the first line of this file, which only its owner may read (a Kubernetes
    /// Secret, say), instead of a new one per run. The printed commands for `--external` runners name it.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<std::path::PathBuf>,
    /// Encrypt every control and data connection (TLS, with a certificate made for the run and pinned by
    /// every runner) even on loopback. A run whose --listen is beyond loopback is always encrypted.
    #[arg(long)]
    pub tls: bool,
    /// The host name or address other hosts reach this one by, for the command printed for
    /// `--external` runners (by default the `--listen` host, or this host's name when that is a
    /// wildcard such as 0.0.0.0).
    #[arg(long, value_name = "HOST")]
    pub advertise: Option<String>,
    /// Do not start this runner instance (see `riffle plan` for ids): you start it, by hand or
    /// on another host, with the variables Riffle prints. Repeatable.
    #[arg(long, value_name = "RUNNER_ID")]
    pub external: Vec<String>,
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
    pub sparql: Option<std::net::SocketAddr>,
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
    pub dashboard: Option<std::net::SocketAddr>,
    /// With --sparql or --dashboard: keep serving after the run ends, until Ctrl-C, to look at
    /// the outcome.
    #[arg(long, requires = "serving")]
    pub keep_serving: bool,
    /// With --sparql or --dashboard: seconds a query may run; then it is cancelled and answered 503.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, requires = "serving")]
    pub query_timeout: f64,
    /// With --sparql or --dashboard: the most rows (or triples) one answer may hold; more is
    /// answered 413.
    #[arg(long, value_name = "ROWS", default_value_t = 100_000, requires = "serving")]
    pub query_max_rows: u64,
    /// With --sparql or --dashboard: the most MiB one answer may take; more is answered 413.
    #[arg(long, value_name = "MIB", default_value_t = 64, requires = "serving")]
    pub query_max_mib: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportChoice {
    Memory,
    Tcp,
    #[value(name = "websocket", alias = "ws")]
    WebSocket,
}

/// The transports between runner processes (the conformance kit's peers are always two processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkChoice {
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
pub enum BenchTarget {
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
        subject: LoadSubject,
        file: PathBuf,
    },
    /// The reading half of a raw link, in its own process, for `riffle bench run`.
    #[command(hide = true)]
    RawReader {
        #[arg(long, value_enum)]
        transport: NetworkChoice,
    },
}

/// `--heartbeat-timeout`: seconds, fractions allowed; 0 turns heartbeats off.
pub fn heartbeat_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| d.is_zero() || *d >= Duration::from_millis(100))
        .ok_or_else(|| "give a number of seconds: 0.1 or more, or 0 for no heartbeats".to_string())
}

/// `--listen HOST:PORT`: an address, or a host name resolved now (its first IPv4 address, else its first).
pub fn resolve_listen(text: &str) -> Result<std::net::SocketAddr, String> {
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

// The library's own enums, as the command line spells them: the library does not depend on clap.

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputChoice {
    /// Aligned columns with compact IRIs, for people.
    Table,
    /// SPARQL 1.1 Query Results JSON.
    Json,
    Csv,
    Tsv,
    /// SPARQL Query Results XML.
    Xml,
    /// For CONSTRUCT and DESCRIBE.
    Turtle,
    /// For CONSTRUCT and DESCRIBE.
    Ntriples,
}

impl From<OutputChoice> for OutputFormat {
    fn from(choice: OutputChoice) -> OutputFormat {
        match choice {
            OutputChoice::Table => OutputFormat::Table,
            OutputChoice::Json => OutputFormat::Json,
            OutputChoice::Csv => OutputFormat::Csv,
            OutputChoice::Tsv => OutputFormat::Tsv,
            OutputChoice::Xml => OutputFormat::Xml,
            OutputChoice::Turtle => OutputFormat::Turtle,
            OutputChoice::Ntriples => OutputFormat::Ntriples,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrawingChoice {
    Dot,
    Mermaid,
}

impl From<DrawingChoice> for DrawingFormat {
    fn from(choice: DrawingChoice) -> DrawingFormat {
        match choice {
            DrawingChoice::Dot => DrawingFormat::Dot,
            DrawingChoice::Mermaid => DrawingFormat::Mermaid,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatChoice {
    /// `[<processor>] message`, for people.
    Text,
    /// One JSON object a line: level, runner, processor, message.
    Json,
}

impl From<LogFormatChoice> for LogFormat {
    fn from(choice: LogFormatChoice) -> LogFormat {
        match choice {
            LogFormatChoice::Text => LogFormat::Text,
            LogFormatChoice::Json => LogFormat::Json,
        }
    }
}

/// What one `load-once` process measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadSubject {
    /// `Store::new()` and oxigraph's bulk loader over the file.
    Oxigraph,
    /// What `riffle validate` does: load the pipeline and its imports, resolve, check.
    Riffle,
}

impl From<LoadSubject> for riffle_core::bench::load::Subject {
    fn from(choice: LoadSubject) -> Self {
        match choice {
            LoadSubject::Oxigraph => Self::Oxigraph,
            LoadSubject::Riffle => Self::Riffle,
        }
    }
}
