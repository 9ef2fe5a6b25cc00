//! Which statements of a large imported file are worth keeping: those connected to the pipeline.
//!
//! A pipeline may import a big data file or vocabulary of which it uses a handful of statements.
//! Holding all of it in the store costs as much memory as oxigraph needs for the whole file (about
//! 400 bytes a statement) for nothing: resolution only ever walks from the pipeline's own nodes.
//! So a large import is read twice: once to learn how its nodes connect, and once to keep the
//! statements whose subject is connected, through subjects and objects, to a node of a file that is
//! kept whole (the pipeline file, small imports, the bundled vocabulary; those are walked for
//! their nodes only when there is a large import, so an ordinary load does no more than before).
//! Predicates do not connect: every statement shares `rdf:type`, and that would connect everything.

use oxigraph::model::{NamedOrBlankNode, Term};
use std::collections::{HashMap, HashSet};

/// Imports up to this size are kept whole, as every statement of the pipeline file is.
pub const WHOLE_FILE_BYTES: usize = 1 << 20;

/// Subjects and objects of every statement read, joined into connected parts.
#[derive(Default)]
pub struct Connectivity {
    ids: HashMap<Box<str>, u32>,
    parent: Vec<u32>,
    seeds: Vec<u32>,
    kept: Option<HashSet<u32>>,
}

impl Connectivity {
    /// Joins the subject and (unless a literal) the object of a statement of a large import.
    pub fn connect(&mut self, subject: &NamedOrBlankNode, object: &Term) {
        let Some(object) = node_key(object) else {
            self.id(&subject_key(subject));
            return;
        };
        let (a, b) = (self.id(&subject_key(subject)), self.id(&object));
        self.union(a, b);
    }

    /// Marks the nodes of a statement that is kept in any case. A node no large import mentions
    /// cannot connect anything, so only nodes already met are marked.
    pub fn seed(&mut self, subject: &NamedOrBlankNode, object: &Term) {
        let keys = std::iter::once(subject_key(subject)).chain(node_key(object));
        for key in keys {
            if let Some(&id) = self.ids.get(key.as_str()) {
                self.seeds.push(id);
            }
        }
    }

    /// Whether a statement with this subject is kept; once asked, no more statements may be added.
    pub fn keeps(&mut self, subject: &NamedOrBlankNode) -> bool {
        if self.kept.is_none() {
            let seeds = std::mem::take(&mut self.seeds);
            let kept = seeds.into_iter().map(|s| self.root(s)).collect();
            self.kept = Some(kept);
        }
        match self.ids.get(subject_key(subject).as_str()).copied() {
            Some(id) => {
                let root = self.root(id);
                self.kept.as_ref().is_some_and(|kept| kept.contains(&root))
            }
            None => false,
        }
    }

    fn id(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.parent.len() as u32;
        self.parent.push(id);
        self.ids.insert(key.into(), id);
        id
    }

    fn root(&mut self, mut id: u32) -> u32 {
        while self.parent[id as usize] != id {
            // Path halving keeps the trees flat without recursion.
            let grandparent = self.parent[self.parent[id as usize] as usize];
            self.parent[id as usize] = grandparent;
            id = grandparent;
        }
        id
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.parent[a.max(b) as usize] = a.min(b);
        }
    }
}

/// IRIs and blank nodes share one key space without clashing: `_:` cannot start an absolute IRI.
fn subject_key(subject: &NamedOrBlankNode) -> String {
    match subject {
        NamedOrBlankNode::NamedNode(n) => n.as_str().to_owned(),
        NamedOrBlankNode::BlankNode(b) => format!("_:{}", b.as_str()),
    }
}

fn node_key(term: &Term) -> Option<String> {
    match term {
        Term::NamedNode(n) => Some(n.as_str().to_owned()),
        Term::BlankNode(b) => Some(format!("_:{}", b.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{Literal, NamedNode};

    fn iri(s: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("http://e/{s}"))
    }

    #[test]
    fn keeps_what_links_to_a_seed_through_subjects_and_objects_only() {
        let mut c = Connectivity::default();
        c.connect(&iri("shape").into(), &iri("x").into());
        c.connect(&iri("y").into(), &iri("x").into());
        c.connect(&iri("noise").into(), &Literal::new_simple_literal("v").into());
        c.connect(&iri("noise2").into(), &iri("noise3").into());
        // Nodes of the files kept whole are marked once the large imports were surveyed.
        c.seed(&iri("pipeline").into(), &iri("shape").into());
        assert!(c.keeps(&iri("y").into()));
        assert!(c.keeps(&iri("shape").into()));
        assert!(!c.keeps(&iri("noise").into()));
        assert!(!c.keeps(&iri("noise3").into()));
        assert!(!c.keeps(&iri("never-seen").into()));
    }
}
