//! The SHACL subset that RDF-Connect and the connector architecture use to declare parameters.

use crate::names::Names;
use crate::problem::{Problem, ProblemKind};
use crate::queries;
use crate::vocab::iri;
use oxigraph::model::{GraphNameRef, NamedNode, NamedOrBlankNode, NamedOrBlankNodeRef, Term};
use oxigraph::store::Store;
use std::collections::HashMap;

/// Where a property's values are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyPath {
    Predicate(NamedNode),
    /// `[ sh:inversePath p ]`: subjects that point at the node.
    Inverse(NamedNode),
    /// `( )`: the node itself (RDF-Connect uses this to pass a processor its own IRI).
    Identity,
}

#[derive(Debug, Clone)]
pub struct PropertyShape {
    pub name: String,
    pub path: PropertyPath,
    pub datatype: Option<NamedNode>,
    pub class: Option<NamedNode>,
    pub min_count: u64,
    pub max_count: Option<u64>,
    pub default_value: Option<Term>,
}

impl PropertyShape {
    pub fn predicate_iri(&self) -> Option<&str> {
        match &self.path {
            PropertyPath::Predicate(p) | PropertyPath::Inverse(p) => Some(p.as_str()),
            PropertyPath::Identity => None,
        }
    }
}

/// All shapes of the loaded graphs, indexed by what they target.
#[derive(Default)]
pub struct Shapes {
    properties: HashMap<Term, Vec<PropertyShape>>,
    by_class: HashMap<NamedNode, Vec<Term>>,
    by_subjects_of: HashMap<NamedNode, Vec<Term>>,
}

impl Shapes {
    pub fn load(store: &Store, names: &Names, problems: &mut Vec<Problem>) -> Shapes {
        let mut shapes = Shapes::default();
        let mut rows = queries::SHAPES.select(store, &[]);
        // Property shapes keep their order of declaration, which is also the order of the
        // arguments a runner receives; blank node labels follow document order.
        rows.sort_by_key(|row| (order_key(row.get("shape")), order_key(row.get("property"))));
        let mut seen = std::collections::HashSet::new();
        for row in rows {
            let (Some(shape), Some(property)) = (row.get("shape"), row.get("property")) else { continue };
            if !seen.insert(property.clone()) {
                continue; // several values of one optional field multiply rows; the first wins
            }
            let shape_name = names.term(shape);
            let path = match row.get("path") {
                None => {
                    problems.push(
                        Problem::new(ProblemKind::ShapeWithoutPath { shape: shape_name.clone() }).subject(shape_name),
                    );
                    continue;
                }
                Some(path) => match read_path(store, path) {
                    Some(path) => path,
                    None => {
                        problems.push(
                            Problem::new(ProblemKind::ShapeWithoutPath { shape: shape_name.clone() })
                                .subject(shape_name),
                        );
                        continue;
                    }
                },
            };
            let name = row.get("name").or_else(|| row.get("codeIdentifier")).and_then(literal_value);
            let Some(name) = name else {
                let path_name = match &path {
                    PropertyPath::Predicate(p) | PropertyPath::Inverse(p) => names.iri(p.as_str()),
                    PropertyPath::Identity => "( )".into(),
                };
                problems.push(
                    Problem::new(ProblemKind::ShapeWithoutName { shape: shape_name.clone(), path: path_name })
                        .subject(shape_name),
                );
                continue;
            };
            let count = |var: &str| row.get(var).and_then(literal_value).and_then(|v| v.parse::<u64>().ok());
            shapes.properties.entry(shape.clone()).or_default().push(PropertyShape {
                name,
                path,
                datatype: named(row.get("datatype")),
                class: named(row.get("class")),
                min_count: count("minCount").unwrap_or(0),
                max_count: count("maxCount"),
                default_value: row.get("defaultValue").cloned(),
            });
        }
        let mut rows = queries::SHAPE_TARGETS.select(store, &[]);
        rows.sort_by_key(|row| order_key(row.get("shape")));
        for row in rows {
            let Some(shape) = row.get("shape") else { continue };
            let add = |list: &mut Vec<Term>| {
                if !list.contains(shape) {
                    list.push(shape.clone());
                }
            };
            if let Some(class) = named(row.get("targetClass")) {
                add(shapes.by_class.entry(class).or_default());
            }
            if let Some(predicate) = named(row.get("targetSubjectsOf")) {
                add(shapes.by_subjects_of.entry(predicate).or_default());
            }
        }
        shapes
    }

    /// The property shapes of the node shapes in `shape_nodes`, merged by field name. Two shapes
    /// that declare one field alike (a package's shape and Riffle's own) count once.
    pub fn merged<'a>(
        &'a self,
        shape_nodes: impl IntoIterator<Item = &'a Term>,
        target: &str,
        problems: &mut Vec<Problem>,
        names: &Names,
    ) -> Vec<PropertyShape> {
        let mut merged: Vec<PropertyShape> = Vec::new();
        for shape in shape_nodes {
            for property in self.properties.get(shape).into_iter().flatten() {
                match merged.iter().find(|p| p.name == property.name) {
                    Some(existing) if existing.path == property.path => {}
                    Some(existing) => problems.push(
                        Problem::new(ProblemKind::ConflictingFields {
                            target: target.to_string(),
                            name: property.name.clone(),
                            first: show_path(&existing.path, names),
                            second: show_path(&property.path, names),
                        })
                        .subject(target.to_string()),
                    ),
                    None => merged.push(property.clone()),
                }
            }
        }
        merged
    }

    pub fn for_class(&self, class: &NamedNode) -> impl Iterator<Item = &Term> {
        self.by_class.get(class).into_iter().flatten()
    }

    pub fn for_subjects_of(&self, predicate: &NamedNode) -> impl Iterator<Item = &Term> {
        self.by_subjects_of.get(predicate).into_iter().flatten()
    }

    pub fn has_class(&self, class: &NamedNode) -> bool {
        self.by_class.contains_key(class)
    }
}

pub fn show_path(path: &PropertyPath, names: &Names) -> String {
    match path {
        PropertyPath::Predicate(p) => names.iri(p.as_str()),
        PropertyPath::Inverse(p) => format!("^{}", names.iri(p.as_str())),
        PropertyPath::Identity => "( )".to_string(),
    }
}

fn read_path(store: &Store, path: &Term) -> Option<PropertyPath> {
    match path {
        Term::NamedNode(n) if n.as_str() == iri::RDF_NIL => Some(PropertyPath::Identity),
        Term::NamedNode(n) => Some(PropertyPath::Predicate(n.clone())),
        Term::BlankNode(b) => {
            let node = NamedOrBlankNodeRef::BlankNode(b.as_ref());
            let inverse = NamedNode::new_unchecked(iri::SH_INVERSE_PATH);
            let object = store
                .quads_for_pattern(Some(node), Some(inverse.as_ref()), None, Some(GraphNameRef::DefaultGraph))
                .filter_map(Result::ok)
                .map(|q| q.object)
                .next()?;
            match object {
                Term::NamedNode(n) => Some(PropertyPath::Inverse(n)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn named(term: Option<&Term>) -> Option<NamedNode> {
    match term {
        Some(Term::NamedNode(n)) => Some(n.clone()),
        _ => None,
    }
}

fn literal_value(term: &Term) -> Option<String> {
    match term {
        Term::Literal(l) => Some(l.value().to_string()),
        _ => None,
    }
}

/// A sort key that puts terms in a stable order: see [`order_key`].
pub type OrderKey = (u8, u64, u64, String);

/// Sorts named nodes by IRI and Riffle's blank nodes (`f<file>b<n>`) by file, then position.
pub fn order_key(term: Option<&Term>) -> OrderKey {
    match term {
        Some(Term::BlankNode(b)) => blank_order(b.as_str()),
        Some(other) => (0, 0, 0, other.to_string()),
        None => (2, 0, 0, String::new()),
    }
}

pub fn subject_order_key(subject: &NamedOrBlankNode) -> OrderKey {
    match subject {
        NamedOrBlankNode::BlankNode(b) => blank_order(b.as_str()),
        NamedOrBlankNode::NamedNode(n) => (0, 0, 0, n.as_str().to_string()),
    }
}

fn blank_order(label: &str) -> OrderKey {
    let parsed = label
        .strip_prefix('f')
        .and_then(|rest| rest.split_once('b'))
        .and_then(|(file, n)| Some((file.parse().ok()?, n.parse().ok()?)));
    match parsed {
        Some((file, n)) => (1, file, n, String::new()),
        None => (1, u64::MAX, 0, label.to_string()),
    }
}
