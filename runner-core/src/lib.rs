//! Riffle's core: load a pipeline described in RDF, resolve it with SPARQL into a plain [`plan::Plan`],
//! validate it, and answer questions about it.

pub mod bundled;
pub mod fileurl;
pub mod loader;
pub mod names;
pub mod problem;
pub mod queries;
pub mod vocab;
pub mod arguments;
pub mod channels;
pub mod classes;
pub mod graph_walk;
pub mod plan;
pub mod plan_graph;
pub mod resolve;
pub mod runners;
pub mod shapes;
pub mod drawing;
pub mod query;
pub mod bench;
