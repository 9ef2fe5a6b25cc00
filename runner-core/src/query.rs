//! `riffle query`: SPARQL over every loaded graph plus the plan graph.

use crate::names::Names;
use crate::vocab::PREFIXES;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::Term;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, PreparedSparqlQuery, QueryEvaluationError, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use std::io::Write;
use std::time::{Duration, Instant};

/// How deep `{`, `(` and `[` may nest in a query. The parser and the evaluator recurse once or more
/// per level, so a query nested a thousand deep would overflow the stack and abort the process;
/// such a query is refused before it is parsed. Real queries stay below ten.
pub const MAX_NESTING: usize = 64;

/// The longest query text accepted, in bytes. Parsing is linear, but oxigraph's optimiser is not and
/// cannot be cancelled; this bounds what even an unoptimised query costs (see [`OPTIMISE_AT_MOST`]).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Queries with more triple patterns than this, or more than [`OPTIMISE_AT_MOST_NODES`] operators
/// and terms in all, run as written, unoptimised: the optimiser's time grows steeply with the
/// patterns that share variables (200 of them take seconds, 400 over a minute) and with long
/// expressions (30,000 additions: 20 s), all before the deadline can stop it, while evaluation can
/// always be cancelled. Real questions about a pipeline stay far below both.
pub const OPTIMISE_AT_MOST: usize = 48;
pub const OPTIMISE_AT_MOST_NODES: usize = 2_000;

/// The stack a query is parsed and evaluated on: long flat chains (`1+1+...`, `{} UNION {} ...`)
/// become deep trees too, which a small stack would not survive. Only what is touched is used.
pub const QUERY_STACK: usize = 256 * 1024 * 1024;

/// How answers are written: a table for people, or the SPARQL results formats (JSON, CSV, TSV, XML);
/// Turtle and N-Triples for CONSTRUCT and DESCRIBE. `riffle query --help` describes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
    Tsv,
    Xml,
    Turtle,
    Ntriples,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the query does not parse: {0}")]
    Syntax(String),
    #[error("the query nests `{{`, `(` or `[` deeper than {MAX_NESTING} levels; it is refused unparsed")]
    TooDeep,
    #[error("the query is {0} bytes long, more than the limit of {MAX_QUERY_BYTES}; it is refused unparsed")]
    TooLong(usize),
    #[error("{0} is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP, COPY, MOVE, ADD) is refused; ask with SELECT, ASK, CONSTRUCT or DESCRIBE")]
    ReadOnly(&'static str),
    #[error("the query failed: {0}")]
    Evaluation(String),
    #[error("the query ran longer than {} s{} and was cancelled", .0.as_secs_f64(), .1)]
    Timeout(Duration, &'static str),
    #[error("the result has more than {0} rows{1}; ask for fewer (LIMIT)")]
    TooManyRows(u64, &'static str),
    #[error("the query was cancelled")]
    Cancelled,
    #[error("--format {format} cannot show the result of a {kind} query; use {allowed}")]
    Format { format: String, kind: &'static str, allowed: &'static str },
    #[error("cannot write the results: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs `query` over the default graph (every loaded file and the plan) and writes the results
/// (see [`render`]).
pub fn run(
    store: &Store,
    names: &Names,
    query: &str,
    format: Option<OutputFormat>,
    terminal: bool,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let prepared = parse(query, "riffle query", None)?;
    let results = prepared.on_store(store).execute().map_err(evaluation_error)?;
    render(results, names, format, terminal, &Guard::default(), out)
}

/// What a query may cost while its results are written: checked once per row or triple.
#[derive(Clone, Default)]
pub struct Guard {
    /// Cancelled by whoever gave up waiting (the deadline, a client gone); the evaluator checks it
    /// too, at every quad it reads.
    pub cancel: Option<CancellationToken>,
    /// After this the query is cancelled and [`QueryError::Timeout`] returned.
    pub deadline: Option<(Instant, Duration)>,
    pub max_rows: Option<u64>,
    /// Named in the errors: the option that sets the limits (", see --query-timeout").
    pub hint: (&'static str, &'static str),
}

impl Guard {
    fn row(&self, rows: u64) -> Result<(), QueryError> {
        if let Some((deadline, timeout)) = self.deadline {
            if Instant::now() >= deadline {
                if let Some(token) = &self.cancel {
                    token.cancel();
                }
                return Err(QueryError::Timeout(timeout, self.hint.0));
            }
        }
        if self.cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
            return Err(QueryError::Cancelled);
        }
        match self.max_rows {
            Some(max) if rows > max => Err(QueryError::TooManyRows(max, self.hint.1)),
            _ => Ok(()),
        }
    }

    /// An evaluation error, told as the deadline when it was the deadline that cancelled it.
    pub fn failed(&self, error: QueryEvaluationError) -> QueryError {
        match (evaluation_error(error), self.deadline) {
            (QueryError::Cancelled, Some((deadline, timeout))) if Instant::now() >= deadline => {
                QueryError::Timeout(timeout, self.hint.0)
            }
            (other, _) => other,
        }
    }
}

pub fn evaluation_error(error: QueryEvaluationError) -> QueryError {
    match error {
        QueryEvaluationError::Cancelled => QueryError::Cancelled,
        other => QueryError::Evaluation(other.to_string()),
    }
}

/// Parses `text` as a query, with Riffle's prefixes and the common ones declared (the query's own
/// declarations win): refuses it unparsed when it nests too deep, and names an update as one
/// (`service` says what is read-only). `cancel`, if given, lets another thread stop the evaluation.
pub fn parse(
    text: &str,
    service: &'static str,
    cancel: Option<CancellationToken>,
) -> Result<PreparedSparqlQuery, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError::TooLong(text.len()));
    }
    if nesting(text) > MAX_NESTING {
        return Err(QueryError::TooDeep);
    }
    let mut parser = spargebra::SparqlParser::new();
    for (prefix, namespace) in PREFIXES {
        parser = parser.with_prefix(*prefix, *namespace).expect("bundled prefixes are valid");
    }
    let parsed = parser.parse_query(text).map_err(|e| {
        if is_update(text) {
            QueryError::ReadOnly(service)
        } else {
            QueryError::Syntax(readable(&e.to_string(), text))
        }
    })?;
    let mut evaluator = SparqlEvaluator::new();
    let (patterns, nodes) = size(&parsed);
    if patterns > OPTIMISE_AT_MOST || nodes > OPTIMISE_AT_MOST_NODES {
        evaluator = evaluator.without_optimizations();
    }
    if let Some(token) = cancel {
        evaluator = evaluator.with_cancellation_token(token);
    }
    Ok(evaluator.for_query(parsed))
}

/// How many triple patterns (property paths count once) and algebra nodes the query holds, as its
/// SSE form shows them (a `(` in a literal counts too, which only errs on the safe side).
fn size(query: &spargebra::Query) -> (usize, usize) {
    let sse = query.to_sse();
    (sse.matches("(triple ").count() + sse.matches("(path ").count(), sse.matches('(').count())
}

/// The deepest nesting of `{`, `(` and `[` outside strings, IRIs and comments.
fn nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            // An IRI when it closes before anything an IRI cannot hold; `<` the operator otherwise.
            b'<' => {
                let rest = &bytes[i + 1..];
                let end = rest.iter().position(|b| {
                    matches!(b, b'>' | b'<' | b'"' | b'{' | b'}' | b'|' | b'^' | b'`' | b'\\') || *b <= b' '
                });
                if let Some(n) = end.filter(|n| rest[*n] == b'>') {
                    i += n + 1;
                }
            }
            quote @ (b'"' | b'\'') => {
                let long = bytes[i..].starts_with(&[quote; 3]);
                i += if long { 3 } else { 1 };
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if long && bytes[i..].starts_with(&[quote; 3]) {
                        i += 2;
                        break;
                    }
                    if !long && (bytes[i] == quote || bytes[i] == b'\n') {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    deepest
}

const UPDATE_WORDS: &[&str] = &["INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"];

/// Whether `text`, past its BASE and PREFIX declarations and comments, starts as an update does.
fn is_update(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.starts_with('#') {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
            continue;
        }
        let word_end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let word = rest[..word_end].to_ascii_uppercase();
        match word.as_str() {
            // PREFIX name: <iri> and BASE <iri>: skip to the end of the IRI.
            "PREFIX" | "BASE" => match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => return false,
            },
            word => return UPDATE_WORDS.contains(&word),
        }
    }
}

/// The parser's "error at 1:8: expected one of \"(\", ['a'..='z' | ...], ..." as the position, the
/// text there, and the keywords and punctuation it expected (character classes left out).
fn readable(error: &str, text: &str) -> String {
    let Some(rest) = error.strip_prefix("error at ") else { return error.to_string() };
    let Some((position, expected)) = rest.split_once(": expected ") else { return error.to_string() };
    let Some((line, column)) = position.split_once(':') else { return error.to_string() };
    let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) else {
        return error.to_string();
    };
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    // Items are "punctuation" in quotes, KEYWORDS bare, and character classes in brackets, which
    // stand for names and values ([_] is any character, which says nothing).
    let (mut tokens, mut names): (Vec<String>, bool) = (Vec::new(), false);
    let mut chars = expected.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ',' | ' ' | '\n' => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut token = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => token.extend(chars.next()),
                        '"' => break,
                        c => token.push(c),
                    }
                }
                tokens.push(format!("{token:?}"));
            }
            '[' => {
                let mut class = String::new();
                let mut quoted = false;
                while let Some(c) = chars.next() {
                    class.push(c);
                    match c {
                        '\\' => class.extend(chars.next()),
                        '\'' => quoted = !quoted,
                        ']' if !quoted => break,
                        _ => {}
                    }
                }
                names |= class != "[_]";
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(word.trim().to_string());
            }
        }
    }
    tokens.dedup();
    let more = tokens.len().saturating_sub(12);
    tokens.truncate(12);
    if names {
        tokens.push("a name or value".into());
    }
    let listed = match (tokens.len(), more) {
        (0, _) => "something else".to_string(),
        (1, 0) => tokens.remove(0),
        (_, 0) => {
            let last = tokens.pop().unwrap_or_default();
            format!("one of {} or {last}", tokens.join(", "))
        }
        (_, more) => format!("one of {} or {more} more", tokens.join(", ")),
    };
    let near: String = text
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .chars()
        .skip(column.saturating_sub(1))
        .take(20)
        .collect();
    let near = near.split_whitespace().next().map_or_else(|| "at the end".to_string(), |w| format!("at {w:?}"));
    format!("line {line}, column {column}, {near}: expected {listed}")
}

/// Writes `results` in `format`; None means Turtle for graphs, and for solutions and booleans a table
/// on a terminal (`terminal`), JSON otherwise.
pub fn render(
    results: QueryResults<'_>,
    names: &Names,
    format: Option<OutputFormat>,
    terminal: bool,
    guard: &Guard,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let mut rows = 0u64;
    let default = if terminal { OutputFormat::Table } else { OutputFormat::Json };
    let format_name = |f: OutputFormat| format!("{f:?}").to_lowercase();
    match results {
        QueryResults::Graph(triples) => {
            let rdf = match format.unwrap_or(OutputFormat::Turtle) {
                OutputFormat::Turtle => RdfFormat::Turtle,
                OutputFormat::Ntriples => RdfFormat::NTriples,
                other => {
                    return Err(QueryError::Format {
                        format: format_name(other),
                        kind: "CONSTRUCT or DESCRIBE",
                        allowed: "turtle or ntriples",
                    })
                }
            };
            let mut serializer = RdfSerializer::from_format(rdf);
            if rdf == RdfFormat::Turtle {
                for (prefix, namespace) in PREFIXES {
                    serializer = serializer.with_prefix(*prefix, *namespace).expect("bundled prefixes are valid");
                }
            }
            let mut writer = serializer.for_writer(out);
            for triple in triples {
                rows += 1;
                guard.row(rows)?;
                let triple = triple.map_err(|e| guard.failed(e))?;
                writer.serialize_triple(&triple)?;
            }
            writer.finish()?;
        }
        QueryResults::Boolean(value) => match format.unwrap_or(default) {
            OutputFormat::Table => writeln!(out, "{value}")?,
            other => {
                let serializer = QueryResultsSerializer::from_format(results_format(other, "ASK")?);
                serializer.serialize_boolean_to_writer(out, value)?;
            }
        },
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            match format.unwrap_or(default) {
                OutputFormat::Table => {
                    let mut table = Vec::new();
                    for solution in solutions {
                        rows += 1;
                        guard.row(rows)?;
                        let solution = solution.map_err(|e| guard.failed(e))?;
                        table.push(
                            variables
                                .iter()
                                .map(|v| solution.get(v).map(|t| show(names, t)).unwrap_or_default())
                                .collect::<Vec<_>>(),
                        );
                    }
                    let header: Vec<String> = variables.iter().map(|v| v.as_str().to_string()).collect();
                    write_table(out, &header, &table)?;
                }
                other => {
                    let serializer = QueryResultsSerializer::from_format(results_format(other, "SELECT")?);
                    let mut writer = serializer.serialize_solutions_to_writer(out, variables)?;
                    for solution in solutions {
                        rows += 1;
                        guard.row(rows)?;
                        let solution = solution.map_err(|e| guard.failed(e))?;
                        writer.serialize(&solution)?;
                    }
                    writer.finish()?;
                }
            }
        }
    }
    Ok(())
}

fn results_format(format: OutputFormat, kind: &'static str) -> Result<QueryResultsFormat, QueryError> {
    Ok(match format {
        OutputFormat::Json => QueryResultsFormat::Json,
        OutputFormat::Csv => QueryResultsFormat::Csv,
        OutputFormat::Tsv => QueryResultsFormat::Tsv,
        OutputFormat::Xml => QueryResultsFormat::Xml,
        other => {
            return Err(QueryError::Format {
                format: format!("{other:?}").to_lowercase(),
                kind,
                allowed: "table, json, csv, tsv or xml",
            })
        }
    })
}

fn show(names: &Names, term: &Term) -> String {
    match term {
        Term::Literal(l) => l.value().to_string(),
        Term::BlankNode(b) => format!("_:{}", b.as_str()),
        other => names.term(other),
    }
}

fn write_table(out: &mut dyn Write, header: &[String], rows: &[Vec<String>]) -> std::io::Result<()> {
    let width =
        |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join(" | ").trim_end().to_string()
    };
    writeln!(out, "{}", line(header))?;
    writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    writeln!(out, "({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_iris_and_comments() {
        assert_eq!(nesting("SELECT * WHERE { { ?s ?p ?o } FILTER((?o > 1)) }"), 3);
        assert_eq!(nesting("ASK { ?s ?p \"{{{{\" }"), 1);
        assert_eq!(nesting("ASK { ?s ?p '''{{\n{{''' }"), 1);
        assert_eq!(nesting("ASK { ?s <urn:a#b> ?o { } } # {{{{\n"), 2);
        assert_eq!(nesting("ASK { FILTER(?a < (?b)) }"), 3);
        assert_eq!(nesting("ASK { ?s ?p \"\\\"{{\" }"), 1);
        assert_eq!(nesting(&"{".repeat(1000)), 1000);
    }

    #[test]
    fn size_counts_patterns_and_nodes_of_the_algebra() {
        let parsed = |q: &str| spargebra::SparqlParser::new().parse_query(q).unwrap();
        assert_eq!(size(&parsed("ASK { ?s <urn:p> ?o . ?o <urn:q>+ ?x }")), (2, 8));
        let sum = format!("SELECT ({} AS ?x) {{}}", ["1"; 3000].join("+"));
        assert!(size(&parsed(&sum)).1 > OPTIMISE_AT_MOST_NODES);
        let many: String = (0..100).map(|i| format!("?a <urn:p{i}> ?b . ")).collect();
        assert_eq!(size(&parsed(&format!("ASK {{ {many} }}"))).0, 100);
    }

    #[test]
    fn a_query_past_the_length_limit_is_refused_unparsed() {
        let long = format!("ASK {{ {} }}", "?s ?p ?o . ".repeat(6000));
        let error = parse(&long, "riffle query", None).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("the query is 66008 bytes long, more than the limit of 65536; it is refused unparsed")
        );
    }

    #[test]
    fn updates_are_told_by_their_first_word() {
        assert!(is_update("INSERT DATA { <a> <b> <c> }"));
        assert!(is_update("# a comment\nPREFIX ex: <http://example.org/>\nBASE <http://x/> delete where { ?s ?p ?o }"));
        assert!(is_update("LOAD <http://example.org/>"));
        assert!(!is_update("SELECT * WHERE { ?s ?p ?o }"));
        assert!(!is_update("PREFIX insert: <urn:x> SELECT * {}"));
    }

    #[test]
    fn parse_errors_say_where_and_what_was_expected() {
        let error = |q: &str| parse(q, "riffle query", None).err().map(|e| e.to_string());
        assert_eq!(
            error("ASK { ?s <a ?o }").as_deref(),
            Some("the query does not parse: line 1, column 17, at the end: expected \">\"")
        );
        assert_eq!(
            error("SELECT *\nWHERE { ?s ?p ?o . FILTER(?o = ) }").as_deref(),
            Some("the query does not parse: line 2, column 35, at the end: expected one of ABS, AVG, DAY, IRI, MAX, MD5, MIN, NOT, NOW, PREDICATE, STR, STRBEFORE or 5 more")
        );
    }
}
