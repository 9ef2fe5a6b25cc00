//! The resolution queries, compiled in from `ontology/queries/*.rq`. Values are bound through
//! `substitute_variable`, never spliced into the query text.

use oxigraph::model::{Term, Variable};
use oxigraph::sparql::{QueryResults, QuerySolution, SparqlEvaluator};
use oxigraph::store::Store;

pub struct Query {
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! query {
    ($const:ident, $name:literal) => {
        pub const $const: Query =
            Query { name: $name, text: include_str!(concat!("../../ontology/queries/", $name, ".rq")) };
    };
}

query!(PIPELINES, "pipelines");
query!(PIPELINE_PARTS, "pipeline_parts");
query!(RUNNERS, "runners");
query!(RUNNER_LINKS, "runner_links");
query!(PROCESSOR_CLASSES, "processor_classes");
query!(PROCESSORS, "processors");
query!(CHANNELS, "channels");
query!(CONN_CHANNELS, "conn_channels");
query!(EXTERNAL_ENDS, "external_ends");
query!(KAFKA_ENDS, "kafka_ends");
query!(SHAPES, "shapes");
query!(SHAPE_TARGETS, "shape_targets");
query!(SUPERCLASSES, "superclasses");

pub const ALL: &[&Query] = &[
    &PIPELINES,
    &PIPELINE_PARTS,
    &RUNNERS,
    &RUNNER_LINKS,
    &PROCESSOR_CLASSES,
    &PROCESSORS,
    &CHANNELS,
    &CONN_CHANNELS,
    &EXTERNAL_ENDS,
    &SHAPES,
    &SHAPE_TARGETS,
    &SUPERCLASSES,
];

impl Query {
    /// Runs this SELECT over the default graph (every loaded file) with `bindings` substituted.
    ///
    /// These queries ship with Riffle and are tested, so a parse or evaluation failure is a bug in
    /// Riffle, not in the user's pipeline: it panics with the query's name.
    pub fn select(&self, store: &Store, bindings: &[(&str, Term)]) -> Vec<QuerySolution> {
        let mut prepared = SparqlEvaluator::new()
            .parse_query(self.text)
            .unwrap_or_else(|e| panic!("bundled query {}.rq does not parse: {e}", self.name));
        for (name, value) in bindings {
            prepared = prepared.substitute_variable(Variable::new_unchecked(*name), value.clone());
        }
        match prepared.on_store(store).execute() {
            Ok(QueryResults::Solutions(solutions)) => solutions
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|e| panic!("bundled query {}.rq failed: {e}", self.name)),
            Ok(_) => panic!("bundled query {}.rq is not a SELECT", self.name),
            Err(e) => panic!("bundled query {}.rq failed: {e}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_query_parses_and_runs_on_an_empty_store() {
        let store = Store::new().unwrap();
        for query in ALL {
            assert!(query.select(&store, &[]).is_empty(), "{} returned rows on an empty store", query.name);
        }
    }
}
