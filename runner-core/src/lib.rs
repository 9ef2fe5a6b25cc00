//! Riffle's core: load a pipeline described in RDF, resolve it with SPARQL into a plain [`plan::Plan`],
//! validate it, and answer questions about it.

pub mod arguments;
pub mod bench;
pub mod blank_names;
pub mod bundled;
pub mod channels;
pub mod classes;
pub mod conformance;
pub mod cycles;
pub mod drawing;
pub mod fileurl;
pub mod graph_walk;
pub mod live;
pub mod loader;
pub mod names;
pub mod plan;
pub mod plan_graph;
pub mod problem;
pub mod queries;
pub mod query;
pub mod relevance;
pub mod resolve;
pub mod run;
pub mod runners;
pub mod shapes;
pub mod top;
pub mod venv;
pub mod vocab;
