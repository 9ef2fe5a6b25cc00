//! The `riffle` binary as a user meets it: output and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn riffle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riffle")).args(args).output().expect("riffle runs")
}

fn fixture(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join(path).display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

const RUNS_ON: &str = "PREFIX riffle: <https://w3id.org/riffle#> SELECT ?processor ?runner WHERE { ?processor riffle:runsOn ?runner } ORDER BY ?processor";

#[test]
fn validate_prints_a_summary_and_exits_zero() {
    let output = riffle(&["validate", &fixture("cli/pipeline.ttl")]);
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "ok: 2 processors, 1 channel, 1 runner instance (testrunner)\n");
    assert_eq!(output.status.code(), Some(2 - 2));
}

#[test]
fn validate_reports_every_problem_and_exits_two() {
    let case = fixture("broken/45-many-problems-at-once/pipeline.ttl");
    let output = riffle(&["validate", &case]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    // The report names the pipeline's own file relative to its folder, whatever the machine.
    let report = stderr(&output);
    assert!(report.starts_with("error[no-runner]: no runner can run processor <p> (class ex:HaskellThing, declared with ex:haskellImplementationOf)\n  --> pipeline.ttl\n"), "{report}");
    assert_eq!(report.matches("error[").count(), 3, "{report}");
    assert!(report.ends_with("\n3 problems found; nothing was started.\n"), "{report}");
}

#[test]
fn validate_verbose_adds_notes_and_warnings_do_not_stop_it() {
    let output = riffle(&["validate", "-v", &fixture("broken/27-channel-without-reader/pipeline.ttl")]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stderr(&output),
        "warning[channel-without-reader]: channel <c> has no reader: what is written to it is dropped\n  --> \
pipeline.ttl\n  subject: <c>\n  help: give a processor this channel as a reader argument, or remove the channel\n\n"
    );
    assert_eq!(stdout(&output), "ok: 1 processor, 1 channel, 1 runner instance (javascript)\n");
}

#[test]
fn a_missing_file_is_an_error_not_a_panic_and_exits_two_like_an_invalid_pipeline() {
    for command in ["validate", "plan", "graph", "run", "query"] {
        let mut args = vec![command, "/nonexistent/pipeline.ttl"];
        if command == "query" {
            args.push("ASK {}");
        }
        let output = riffle(&args);
        assert_eq!(output.status.code(), Some(2), "riffle {command}");
        assert_eq!(stderr(&output), "error: /nonexistent/pipeline.ttl does not exist\n", "riffle {command}");
    }
}

#[test]
fn plan_prints_json_with_typed_arguments() {
    let output = riffle(&["plan", &fixture("cli/pipeline.ttl")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let source =
        plan["processors"].as_array().unwrap().iter().find(|p| p["id"].as_str().unwrap().ends_with("/source")).unwrap();
    assert_eq!(source["arguments"]["count"], serde_json::json!(5));
    assert_eq!(plan["runners"][0]["argv"], serde_json::json!(["./fake-runner", "--flag"]));
    assert_eq!(plan["runners"][0]["program"], serde_json::json!(fixture("cli/./fake-runner")));
}

#[test]
fn query_answers_runner_assignment_as_a_table() {
    let output = riffle(&["query", &fixture("cli/pipeline.ttl"), RUNS_ON, "--format", "table"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "processor | runner\n\
         ----------+-------------------------------\n\
         <sink>    | <urn:riffle:runner:testrunner>\n\
         <source>  | <urn:riffle:runner:testrunner>\n\
         (2 rows)\n"
    );
}

#[test]
fn query_speaks_the_sparql_result_formats() {
    let pipeline = fixture("cli/pipeline.ttl");
    let json = riffle(&["query", &pipeline, RUNS_ON, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["head"]["vars"], serde_json::json!(["processor", "runner"]));
    assert_eq!(value["results"]["bindings"].as_array().unwrap().len(), 2);
    assert_eq!(
        value["results"]["bindings"][0]["runner"],
        serde_json::json!({"type": "uri", "value": "urn:riffle:runner:testrunner"})
    );

    let csv = stdout(&riffle(&["query", &pipeline, RUNS_ON, "--format", "csv"]));
    assert_eq!(csv.lines().next(), Some("processor,runner"));
    assert_eq!(csv.lines().count(), 3);
    let tsv = stdout(&riffle(&["query", &pipeline, RUNS_ON, "--format", "tsv"]));
    assert_eq!(tsv.lines().next(), Some("?processor\t?runner"));
    assert_eq!(tsv.lines().nth(1).unwrap().split('\t').nth(1), Some("<urn:riffle:runner:testrunner>"));

    let ask =
        riffle(&["query", &pipeline, "ASK { ?c <https://w3id.org/riffle#crossesRunners> true }", "--format", "table"]);
    assert_eq!(stdout(&ask), "false\n");

    let construct = riffle(&["query", &pipeline, "CONSTRUCT { ?c <https://w3id.org/riffle#transport> ?t } WHERE { ?c a <https://w3id.org/riffle#PlannedChannel>; <https://w3id.org/riffle#transport> ?t }", "--format", "ntriples"]);
    let numbers = riffle_core::fileurl::from_path(&PathBuf::from(fixture("cli/numbers")));
    assert_eq!(
        stdout(&construct),
        format!("<{numbers}> <https://w3id.org/riffle#transport> <https://w3id.org/riffle#Memory> .\n")
    );
}

#[test]
fn query_reads_argument_values_from_the_plan_graph() {
    let query = "PREFIX riffle: <https://w3id.org/riffle#> SELECT ?value WHERE { ?p riffle:argument [ riffle:name \"count\"; riffle:value ?value ] }";
    let output = riffle(&["query", &fixture("cli/pipeline.ttl"), query, "--format", "csv"]);
    assert_eq!(stdout(&output), "value\r\n5\r\n");
}

#[test]
fn a_bad_query_is_refused_with_exit_two() {
    let output = riffle(&["query", &fixture("cli/pipeline.ttl"), "SELECT WHERE {", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("error: the query does not parse: "), "{}", stderr(&output));
    let wrong_format =
        riffle(&["query", &fixture("cli/pipeline.ttl"), "CONSTRUCT WHERE { ?s ?p ?o }", "--format", "csv"]);
    assert_eq!(wrong_format.status.code(), Some(2));
    assert_eq!(
        stderr(&wrong_format),
        "error: --format csv cannot show the result of a CONSTRUCT or DESCRIBE query; use turtle or ntriples\n"
    );
}

#[test]
fn graph_draws_dot_and_mermaid() {
    let dot = riffle(&["graph", &fixture("cli/pipeline.ttl"), "--format", "dot"]);
    assert_eq!(
        stdout(&dot),
        "digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n  subgraph \"cluster_testrunner\" {\n    label=\"runner testrunner: test runner\";\n    \
p0 [label=\"<sink>\\nex:Sink\"];\n    p1 [label=\"<source>\\nex:Source\"];\n  }\n  p1 -> p0 [label=\"<numbers> (memory)\"];\n}\n"
    );
    let mermaid = riffle(&["graph", &fixture("cli/pipeline.ttl"), "--format", "mermaid"]);
    assert_eq!(
        stdout(&mermaid),
        "flowchart LR\n  subgraph r_testrunner[\"runner testrunner: test runner\"]\n    p0[\"#lt;sink#gt;<br/>ex:Sink\"]\n    \
p1[\"#lt;source#gt;<br/>ex:Source\"]\n  end\n  p1 -->|\"#lt;numbers#gt; (memory)\"| p0\n"
    );
}

#[test]
fn runners_lists_the_bundled_runners() {
    let output = riffle(&["runners"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("runner files: "), "{text}");
    let headers: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ') && !l.starts_with("runner files: ")).collect();
    assert_eq!(
        headers,
        [
            "riffle:JavaRunner  Java (JVM 17)",
            "riffle:JsRunner  JavaScript (Node.js)",
            "riffle:PythonRunner  Python 3.11+ (asyncio), the pipeline's .venv",
            "riffle:RustRunner  Rust"
        ]
    );
    assert!(text.contains("  handles:  subjects of rdfc:jsImplementationOf, instances of js:JsProcess\n  replaces: rdfc:BunRunner, rdfc:JsRunner, rdfc:NodeRunner\n"), "{text}");
}

/// RIFFLE_HOME is an override, used even when it holds nothing: then the JavaScript runner is not
/// ready, `riffle runners` says so and how to fix it, and `validate` reports it before anything starts.
#[test]
fn a_riffle_home_that_holds_nothing_is_reported_with_a_fix() {
    if which_node().is_none() {
        println!("skipping a_riffle_home_that_holds_nothing_is_reported_with_a_fix: `node` is not on PATH");
        return;
    }
    let nowhere = std::env::temp_dir().join(format!("riffle-nowhere-{}", std::process::id()));
    let nowhere = nowhere.display().to_string();
    let help = format!(
        "Riffle's runners are looked for in {nowhere} (from RIFFLE_HOME): set RIFFLE_HOME to a Riffle distribution \
(the folder that holds runners/, made by scripts/dist), or unset it; in a checkout, ./scripts/build makes them"
    );
    let output =
        Command::new(env!("CARGO_BIN_EXE_riffle")).arg("runners").env("RIFFLE_HOME", &nowhere).output().unwrap();
    let text = stdout(&output);
    assert!(text.starts_with(&format!("runner files: {nowhere} (from RIFFLE_HOME)\n")), "{text}");
    let js = format!(
        "  argv:     [\"node\",\"{nowhere}/runners/js/bin/riffle-runner-js.mjs\"]\n  program:  node (found: {})\n  \
NOT READY: runner riffle:JsRunner starts {nowhere}/runners/js/bin/riffle-runner-js.mjs, which does not exist\n    fix: {help}\n",
        which_node().unwrap().display()
    );
    assert!(text.contains(&js), "{text}");

    let pipeline = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pipelines/js-rust/pipeline.ttl");
    let output = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .arg("validate")
        .arg(&pipeline)
        .env("RIFFLE_HOME", &nowhere)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!(
            "error[runner-file-missing]: runner riffle:JsRunner starts {nowhere}/runners/js/bin/riffle-runner-js.mjs, \
which does not exist\n  --> (bundled) runners/js/runner.ttl\n  subject: riffle:JsRunner\n  help: {help}\n\n1 problem found; nothing was started.\n"
        )
    );
}

fn which_node() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("node")).find(|p| p.is_file()))
}

#[test]
fn runners_include_those_a_pipeline_declares() {
    let output = riffle(&["runners", &fixture("cli/pipeline.ttl")]);
    let text = stdout(&output);
    assert!(text.contains("ex:TestRunner  test runner\n  handles:  subjects of ex:testImplementationOf\n  argv:     [\"./fake-runner\",\"--flag\"]\n  program:  ./fake-runner (found: "), "{text}");
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for command in ["run", "validate", "plan", "query", "graph", "runners", "bench"] {
        let output = riffle(&[command, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{command}");
        assert!(stdout(&output).contains("Example"), "{command} --help shows no example");
    }
}

#[test]
fn query_refuses_what_would_break_it_with_exit_two() {
    let pipeline = fixture("cli/pipeline.ttl");
    let deep = format!("SELECT * WHERE {}{}", "{".repeat(1000), "}".repeat(1000));
    let output = riffle(&["query", &pipeline, &deep]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: the query nests `{`, `(` or `[` deeper than 64 levels; it is refused unparsed\n"
    );
    let output = riffle(&["query", &pipeline, "INSERT DATA { <urn:a> <urn:b> <urn:c> }"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: riffle query is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, ADD) \
is refused; ask with SELECT, ASK, CONSTRUCT or DESCRIBE\n"
    );
    let output = riffle(&["query", &pipeline, "SELECT * WHERE { ?s ?p ?o"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: the query does not parse: line 1, column 26, at the end: expected one of \",\", \".\", \";\", \"{\", \
\"{|\", \"}\", \"~\" or a name or value\n"
    );
    // Deep but accepted: 64 levels parse and run.
    let fine = format!("ASK {}{}", "{".repeat(64), "}".repeat(64));
    let output = riffle(&["query", &pipeline, &fine, "--format", "table"]);
    assert_eq!((output.status.code(), stdout(&output).as_str()), (Some(0), "true\n"), "{}", stderr(&output));
}

#[test]
fn query_knows_riffles_prefixes_and_the_common_ones_unless_redeclared() {
    let pipeline = fixture("cli/pipeline.ttl");
    let undeclared = "SELECT ?processor ?runner WHERE { ?processor riffle:runsOn ?runner; riffle:processorClass ?class . ?class ?implementation rdfc:Processor } ORDER BY ?processor";
    let output = riffle(&["query", &pipeline, undeclared, "--format", "csv"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let source = riffle_core::fileurl::from_path(&PathBuf::from(fixture("cli/source")));
    let sink = riffle_core::fileurl::from_path(&PathBuf::from(fixture("cli/sink")));
    assert_eq!(
        stdout(&output),
        format!("processor,runner\r\n{sink},urn:riffle:runner:testrunner\r\n{source},urn:riffle:runner:testrunner\r\n")
    );
    let redeclared = "PREFIX riffle: <urn:elsewhere#> SELECT ?processor WHERE { ?processor riffle:runsOn ?runner }";
    let output = riffle(&["query", &pipeline, redeclared, "--format", "csv"]);
    assert_eq!(stdout(&output), "processor\r\n");
}
