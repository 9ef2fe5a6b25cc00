//! `riffle query`: SPARQL over every loaded graph plus the plan graph.

use crate::names::Names;
use crate::vocab::PREFIXES;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::Term;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
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

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the query does not parse: {0}")]
    Syntax(String),
    #[error("the query failed: {0}")]
    Evaluation(String),
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
    let results = evaluate(store, query)?;
    render(results, names, format, terminal, out)
}

pub fn evaluate<'a>(store: &'a Store, query: &str) -> Result<QueryResults<'a>, QueryError> {
    let prepared = SparqlEvaluator::new().parse_query(query).map_err(|e| QueryError::Syntax(e.to_string()))?;
    prepared.on_store(store).execute().map_err(|e| QueryError::Evaluation(e.to_string()))
}

/// Writes `results` in `format`; None means Turtle for graphs, and for solutions and booleans a table
/// on a terminal (`terminal`), JSON otherwise.
pub fn render(
    results: QueryResults<'_>,
    names: &Names,
    format: Option<OutputFormat>,
    terminal: bool,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
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
                let triple = triple.map_err(|e| QueryError::Evaluation(e.to_string()))?;
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
                    let mut rows = Vec::new();
                    for solution in solutions {
                        let solution = solution.map_err(|e| QueryError::Evaluation(e.to_string()))?;
                        rows.push(
                            variables
                                .iter()
                                .map(|v| solution.get(v).map(|t| show(names, t)).unwrap_or_default())
                                .collect::<Vec<_>>(),
                        );
                    }
                    let header: Vec<String> = variables.iter().map(|v| v.as_str().to_string()).collect();
                    write_table(out, &header, &rows)?;
                }
                other => {
                    let serializer = QueryResultsSerializer::from_format(results_format(other, "SELECT")?);
                    let mut writer = serializer.serialize_solutions_to_writer(out, variables)?;
                    for solution in solutions {
                        let solution = solution.map_err(|e| QueryError::Evaluation(e.to_string()))?;
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
