//! The plan written back as RDF into the named graph `<urn:riffle:plan>`, in Riffle's vocabulary
//! (`ontology/riffle.ttl`), so that `riffle query` can ask which runner runs what, which channels
//! cross runners, which transport each uses and what each argument resolved to.

use crate::plan::Plan;
use crate::vocab::{iri, PLAN_GRAPH, RIFFLE, XSD};
use oxigraph::model::{BlankNode, GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use oxigraph::store::Store;
use serde_json::Value;

fn riffle(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{RIFFLE}{local}"))
}

/// A plan id (an IRI, or `_:label` for a blank node in the loaded graphs) as a term.
pub fn node(id: &str) -> NamedOrBlankNode {
    match id.strip_prefix("_:") {
        Some(label) => BlankNode::new_unchecked(label).into(),
        None => NamedNode::new_unchecked(id).into(),
    }
}

pub fn runner_instance_iri(id: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("urn:riffle:runner:{id}"))
}

pub fn write(store: &Store, plan: &Plan) {
    let graph = GraphName::NamedNode(NamedNode::new_unchecked(PLAN_GRAPH));
    let rdf_type = NamedNode::new_unchecked(iri::RDF_TYPE);
    let mut quads = Vec::new();
    let mut add = |s: NamedOrBlankNode, p: NamedNode, o: Term| {
        quads.push(Quad::new(s.clone(), p.clone(), o.clone(), GraphName::DefaultGraph));
        quads.push(Quad::new(s, p, o, graph.clone()));
    };

    let plan_node: NamedOrBlankNode = NamedNode::new_unchecked("urn:riffle:plan").into();
    add(plan_node.clone(), rdf_type.clone(), riffle("Plan").into());
    if let Some(pipeline) = &plan.pipeline {
        add(plan_node.clone(), riffle("pipeline"), node(pipeline).into());
    }
    add(
        plan_node.clone(),
        riffle("source"),
        NamedNode::new_unchecked(crate::fileurl::from_path(std::path::Path::new(&plan.source))).into(),
    );

    for runner in &plan.runners {
        let instance: NamedOrBlankNode = runner_instance_iri(&runner.id).into();
        add(instance.clone(), rdf_type.clone(), riffle("RunnerInstance").into());
        add(instance.clone(), riffle("instanceOf"), NamedNode::new_unchecked(&runner.runner).into());
        add(instance.clone(), riffle("name"), Literal::new_simple_literal(&runner.id).into());
        add(
            instance.clone(),
            riffle("argvJson"),
            Literal::new_simple_literal(serde_json::to_string(&runner.argv).unwrap_or_default()).into(),
        );
        if let Some(program) = &runner.program {
            add(instance.clone(), riffle("program"), Literal::new_simple_literal(program).into());
        }
        for processor in &runner.processors {
            add(instance.clone(), riffle("runs"), node(processor).into());
            add(node(processor), riffle("runsOn"), instance.clone().into());
        }
    }

    for processor in &plan.processors {
        let subject = node(&processor.id);
        add(subject.clone(), riffle("processorClass"), NamedNode::new_unchecked(&processor.class).into());
        if let Some(name) = &processor.name {
            let label = NamedNode::new_unchecked("http://www.w3.org/2000/01/rdf-schema#label");
            add(subject.clone(), label, Literal::new_simple_literal(name).into());
        }
        add(
            subject.clone(),
            riffle("implementationJson"),
            Literal::new_simple_literal(Value::Object(processor.implementation.clone()).to_string()).into(),
        );
        for (name, value) in &processor.arguments {
            let argument: NamedOrBlankNode = BlankNode::default().into();
            add(subject.clone(), riffle("argument"), argument.clone().into());
            add(argument.clone(), rdf_type.clone(), riffle("Argument").into());
            add(argument.clone(), riffle("name"), Literal::new_simple_literal(name).into());
            add(argument.clone(), riffle("json"), Literal::new_simple_literal(value.to_string()).into());
            if let Some(literal) = scalar(value) {
                add(argument.clone(), riffle("value"), literal.into());
            }
        }
    }

    for channel in &plan.channels {
        let subject = node(&channel.id);
        add(subject.clone(), rdf_type.clone(), riffle("PlannedChannel").into());
        let transport = match channel.transport {
            crate::plan::Transport::Memory => "Memory",
            crate::plan::Transport::Tcp => "Tcp",
            crate::plan::Transport::WebSocket => "WebSocket",
            crate::plan::Transport::File => "File",
            crate::plan::Transport::Http => "Http",
        };
        add(subject.clone(), riffle("transport"), riffle(transport).into());
        add(subject.clone(), riffle("crossesRunners"), Literal::from(channel.crosses_runners).into());
        for writer in &channel.writers {
            add(subject.clone(), riffle("writer"), node(&writer.processor).into());
        }
        for reader in &channel.readers {
            add(subject.clone(), riffle("reader"), node(&reader.processor).into());
        }
    }
    store.extend(quads).expect("an in-memory store accepts every quad");
}

/// Numbers, booleans and strings as typed literals, so that queries can compare them.
fn scalar(value: &Value) -> Option<Literal> {
    Some(match value {
        Value::Bool(b) => Literal::from(*b),
        Value::String(s) => Literal::new_simple_literal(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            Literal::new_typed_literal(n.to_string(), NamedNode::new_unchecked(format!("{XSD}integer")))
        }
        Value::Number(n) => Literal::new_typed_literal(n.to_string(), NamedNode::new_unchecked(format!("{XSD}double"))),
        _ => return None,
    })
}
