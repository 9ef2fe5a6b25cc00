//! Reading values off a node: objects of a predicate, subjects of an inverse, RDF lists.

use crate::shapes::{order_key, PropertyPath};
use crate::vocab::iri;
use oxigraph::model::{GraphNameRef, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef};
use oxigraph::store::Store;

pub fn as_subject(term: &Term) -> Option<NamedOrBlankNodeRef<'_>> {
    match term {
        Term::NamedNode(n) => Some(NamedOrBlankNodeRef::NamedNode(n.as_ref())),
        Term::BlankNode(b) => Some(NamedOrBlankNodeRef::BlankNode(b.as_ref())),
        _ => None,
    }
}

/// Objects of `node predicate ?o` across all graphs, without duplicates, in a stable order.
pub fn objects(store: &Store, node: &Term, predicate: &str) -> Vec<Term> {
    let Some(subject) = as_subject(node) else { return Vec::new() };
    let predicate = NamedNodeRef::new_unchecked(predicate);
    let mut values: Vec<Term> = store
        .quads_for_pattern(Some(subject), Some(predicate), None, Some(GraphNameRef::DefaultGraph))
        .filter_map(Result::ok)
        .map(|q| q.object)
        .collect();
    sort_dedup(&mut values);
    values
}

/// The first object of `node predicate ?o`, if any.
pub fn object(store: &Store, node: &Term, predicate: &str) -> Option<Term> {
    objects(store, node, predicate).into_iter().next()
}

pub fn values_at(store: &Store, node: &Term, path: &PropertyPath) -> Vec<Term> {
    match path {
        PropertyPath::Identity => vec![node.clone()],
        PropertyPath::Predicate(p) => objects(store, node, p.as_str()),
        PropertyPath::Inverse(p) => {
            let object: TermRef<'_> = node.as_ref();
            let mut values: Vec<Term> = store
                .quads_for_pattern(None, Some(p.as_ref()), Some(object), Some(GraphNameRef::DefaultGraph))
                .filter_map(Result::ok)
                .map(|q| match q.subject {
                    NamedOrBlankNode::NamedNode(n) => Term::NamedNode(n),
                    NamedOrBlankNode::BlankNode(b) => Term::BlankNode(b),
                })
                .collect();
            sort_dedup(&mut values);
            values
        }
    }
}

/// RDF has no order among repeated values; sorting makes plans identical from run to run.
fn sort_dedup(values: &mut Vec<Term>) {
    values.sort_by_key(|t| order_key(Some(t)));
    values.dedup();
}

/// True when `node` is the head of an RDF list (`rdf:nil` included).
pub fn is_list(store: &Store, node: &Term) -> bool {
    match node {
        Term::NamedNode(n) if n.as_str() == iri::RDF_NIL => true,
        Term::NamedNode(_) | Term::BlankNode(_) => object(store, node, iri::RDF_FIRST).is_some(),
        _ => false,
    }
}

/// The items of the RDF list starting at `head`, or None if it is malformed or loops.
pub fn list_items(store: &Store, head: &Term) -> Option<Vec<Term>> {
    let mut items = Vec::new();
    let mut node = head.clone();
    let mut seen = std::collections::HashSet::new();
    loop {
        if matches!(&node, Term::NamedNode(n) if n.as_str() == iri::RDF_NIL) {
            return Some(items);
        }
        if !seen.insert(node.clone()) {
            return None;
        }
        let first = objects(store, &node, iri::RDF_FIRST);
        let rest = objects(store, &node, iri::RDF_REST);
        if first.len() != 1 || rest.len() != 1 {
            return None;
        }
        items.push(first.into_iter().next()?);
        node = rest.into_iter().next()?;
    }
}

/// A node's id in the plan: its IRI, or `_:label` for a blank node.
pub fn term_id(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().to_string(),
        other => other.to_string(),
    }
}
