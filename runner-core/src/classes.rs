//! The class hierarchy (`rdfs:subClassOf`, transitively), for `sh:class` checks and shape targets.

use crate::queries;
use oxigraph::model::{GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNodeRef, Term};
use oxigraph::store::Store;
use std::collections::{BTreeSet, HashMap};

#[derive(Default)]
pub struct Classes {
    superclasses: HashMap<NamedNode, BTreeSet<NamedNode>>,
}

impl Classes {
    pub fn load(store: &Store) -> Classes {
        let mut classes = Classes::default();
        for row in queries::SUPERCLASSES.select(store, &[]) {
            if let (Some(Term::NamedNode(class)), Some(Term::NamedNode(superclass))) =
                (row.get("class"), row.get("superclass"))
            {
                classes.superclasses.entry(class.clone()).or_default().insert(superclass.clone());
            }
        }
        classes
    }

    /// True when `class` is `ancestor` or one of its subclasses.
    pub fn is_a(&self, class: &NamedNode, ancestor: &str) -> bool {
        class.as_str() == ancestor
            || self.superclasses.get(class).is_some_and(|s| s.iter().any(|c| c.as_str() == ancestor))
    }

    /// `class` followed by all its superclasses.
    pub fn with_superclasses<'a>(&'a self, class: &'a NamedNode) -> impl Iterator<Item = &'a NamedNode> {
        std::iter::once(class).chain(self.superclasses.get(class).into_iter().flatten())
    }
}

/// The `rdf:type`s of a node, in every graph, without duplicates.
pub fn types_of(store: &Store, node: &Term) -> Vec<NamedNode> {
    let subject = match node {
        Term::NamedNode(n) => NamedOrBlankNodeRef::NamedNode(n.as_ref()),
        Term::BlankNode(b) => NamedOrBlankNodeRef::BlankNode(b.as_ref()),
        _ => return Vec::new(),
    };
    let rdf_type = NamedNodeRef::new_unchecked(crate::vocab::iri::RDF_TYPE);
    let mut types: Vec<NamedNode> = store
        .quads_for_pattern(Some(subject), Some(rdf_type), None, Some(GraphNameRef::DefaultGraph))
        .filter_map(Result::ok)
        .filter_map(|q| match q.object {
            Term::NamedNode(n) => Some(n),
            _ => None,
        })
        .collect();
    types.sort();
    types.dedup();
    types
}
