//! The state graph `<urn:riffle:state>`: what the run is doing now, in Riffle's vocabulary
//! (`ontology/riffle.ttl`), made from a [`Snapshot`] each time a query comes. Its triples are also in
//! the default graph, as the plan graph's are, so questions can join state, plan and pipeline.

use super::{date_time, process, Snapshot};
use crate::plan_graph::{node, runner_instance_iri};
use crate::run::orchestrator::ProcessorState;
use crate::vocab::{iri, RIFFLE, XSD};
use oxigraph::model::{GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term};

pub const STATE_GRAPH: &str = "urn:riffle:state";
pub const RUN: &str = "urn:riffle:run";

fn riffle(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{RIFFLE}{local}"))
}

fn typed(value: impl ToString, datatype: &str) -> Term {
    Literal::new_typed_literal(value.to_string(), NamedNode::new_unchecked(format!("{XSD}{datatype}"))).into()
}

fn state_term(state: ProcessorState) -> Term {
    riffle(match state {
        ProcessorState::Waiting => "NotStarted",
        ProcessorState::Initialising => "Initialising",
        ProcessorState::Running => "Running",
        ProcessorState::Finished => "Finished",
        ProcessorState::Failed => "Failed",
        ProcessorState::Stopped => "Stopped",
    })
    .into()
}

/// Every quad of the state graph, each once in `<urn:riffle:state>` and once in the default graph.
pub fn quads(snapshot: &Snapshot) -> Vec<Quad> {
    let graph = GraphName::NamedNode(NamedNode::new_unchecked(STATE_GRAPH));
    let mut quads = Vec::new();
    let mut add = |s: NamedOrBlankNode, p: NamedNode, o: Term| {
        quads.push(Quad::new(s.clone(), p.clone(), o.clone(), GraphName::DefaultGraph));
        quads.push(Quad::new(s, p, o, graph.clone()));
    };
    let rdf_type = NamedNode::new_unchecked(iri::RDF_TYPE);

    let run: NamedOrBlankNode = NamedNode::new_unchecked(RUN).into();
    add(run.clone(), rdf_type.clone(), riffle("Run").into());
    let run_state = match snapshot.ended {
        None => "Running",
        Some(("finished", _)) => "Finished",
        Some(("failed", _)) => "Failed",
        Some(_) => "Interrupted",
    };
    add(run.clone(), riffle("state"), riffle(run_state).into());
    add(run.clone(), riffle("startedAt"), typed(date_time(snapshot.started_at), "dateTime"));
    if let Some((_, at)) = snapshot.ended {
        add(run.clone(), riffle("endedAt"), typed(date_time(at), "dateTime"));
    }
    if let Some(error) = &snapshot.error {
        add(run.clone(), riffle("error"), Literal::new_simple_literal(error).into());
    }

    for p in &snapshot.processors {
        let subject = node(&p.id);
        add(subject.clone(), riffle("state"), state_term(p.state));
        if let Some(at) = p.started_at {
            add(subject.clone(), riffle("startedAt"), typed(date_time(at), "dateTime"));
        }
        if let Some(at) = p.ended_at {
            add(subject.clone(), riffle("endedAt"), typed(date_time(at), "dateTime"));
        }
        if let Some(error) = &p.error {
            add(subject.clone(), riffle("error"), Literal::new_simple_literal(error).into());
        }
        if let Some(stack) = &p.stack {
            add(subject.clone(), riffle("stack"), Literal::new_simple_literal(stack).into());
        }
    }

    for (channel, figures) in snapshot.channels() {
        let subject = node(&channel);
        add(subject.clone(), riffle("messages"), typed(figures.messages, "integer"));
        add(subject.clone(), riffle("bytes"), typed(figures.bytes, "integer"));
        add(subject.clone(), riffle("queued"), typed(figures.queued, "integer"));
        add(
            subject.clone(),
            riffle("messagesPerSecond"),
            typed(format!("{:.1}", figures.messages_per_second), "decimal"),
        );
        if let Some(blocked) = figures.blocked_seconds {
            add(subject.clone(), riffle("blockedSeconds"), typed(format!("{blocked:.6}"), "decimal"));
        }
    }

    for (runner, pid) in &snapshot.runner_pids {
        let Some(pid) = pid else { continue };
        let subject: NamedOrBlankNode = runner_instance_iri(runner).into();
        add(subject.clone(), riffle("pid"), typed(pid, "integer"));
        if let Some(bytes) = process::resident_bytes(*pid) {
            add(subject.clone(), riffle("residentBytes"), typed(bytes, "integer"));
        }
        if let Some(seconds) = process::cpu_seconds(*pid) {
            add(subject.clone(), riffle("cpuSeconds"), typed(format!("{seconds:.2}"), "decimal"));
        }
    }
    for (runner, endpoint) in &snapshot.endpoints {
        add(runner_instance_iri(runner).into(), riffle("endpoint"), Literal::new_simple_literal(endpoint).into());
    }
    quads
}
