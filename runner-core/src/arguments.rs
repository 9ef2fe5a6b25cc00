//! Turning a node into typed JSON by its SHACL shapes: the arguments of a processor, and the
//! implementation fields (file, class, ...) of its class.

use crate::classes::{types_of, Classes};
use crate::graph_walk::{is_list, list_items, object, values_at};
use crate::names::Names;
use crate::problem::{Problem, ProblemKind};
use crate::shapes::{PropertyPath, PropertyShape, Shapes};
use crate::vocab::{iri, XSD, XSD_INTEGERS};
use oxigraph::model::{NamedNode, Term};
use oxigraph::store::Store;
use serde_json::{Map, Number, Value};
use std::path::Path;

/// Nested arguments deeper than this are almost surely a loop in the data.
const MAX_DEPTH: usize = 32;

/// Which end of a channel an argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
        }
    }
}

/// Finds the channel behind a reader or writer end; implemented by the channel resolution.
pub trait ChannelEnds {
    /// The channel's id, or the problem with using `end` as a `role`.
    fn channel_of(&mut self, end: &Term, role: Role, processor: &Term, argument: &str) -> Result<String, ProblemKind>;
}

/// What the extraction needs to look at. Lives for one resolution.
pub struct Extractor<'a> {
    pub store: &'a Store,
    pub names: &'a Names,
    pub shapes: &'a Shapes,
    pub classes: &'a Classes,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub order: &'a crate::loader::DocumentOrder,
}

/// One extraction: a processor's arguments or its class's implementation fields.
pub struct Extraction<'a, 'b> {
    pub extractor: &'b Extractor<'a>,
    pub channels: &'b mut dyn ChannelEnds,
    /// The processor (or class) being extracted, for channel uses and messages.
    pub root: Term,
    /// The file shown with problems.
    pub file: Option<String>,
    pub problems: Vec<Problem>,
    /// The nested values being extracted, outermost first: a value met again inside itself is a
    /// loop, reported as such rather than as nesting too deep.
    pub enclosing: Vec<Term>,
}

impl<'a, 'b> Extraction<'a, 'b> {
    /// Extracts `node` with `properties` into a JSON object. `prefix` names the enclosing field
    /// (`config.input`) so that channel uses say which argument they came from.
    pub fn object(
        &mut self,
        node: &Term,
        properties: &[PropertyShape],
        prefix: &str,
        depth: usize,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for property in properties {
            let field = if prefix.is_empty() { property.name.clone() } else { format!("{prefix}.{}", property.name) };
            if let Some(value) = self.property(node, property, &field, depth) {
                out.insert(property.name.clone(), value);
            }
        }
        out
    }

    /// Problems name the root (the processor) and the dotted field, which say more to the author
    /// than the blank node a nested value usually is.
    fn problem(&mut self, kind: ProblemKind, property: &PropertyShape) {
        let names = self.extractor.names;
        let mut problem = Problem::new(kind).in_file(self.file.clone()).subject(names.term(&self.root));
        if let Some(predicate) = property.predicate_iri() {
            problem = problem.predicate(names.iri(predicate));
        }
        self.problems.push(problem);
    }

    fn property(&mut self, node: &Term, property: &PropertyShape, field: &str, depth: usize) -> Option<Value> {
        let store = self.extractor.store;
        let names = self.extractor.names;
        let subject = names.term(&self.root);
        let name = field.to_string();
        let mut values = Vec::new();
        let mut found = values_at(store, node, &property.path);
        let order = self.extractor.order;
        match &property.path {
            PropertyPath::Predicate(p) => found.sort_by_key(|value| order.of(node, p, value)),
            PropertyPath::Inverse(p) => found.sort_by_key(|value| order.of(value, p, node)),
            PropertyPath::Identity => {}
        }
        // A SHACL path of several steps is itself a list: it is one value, not a list of values.
        let is_path = property.class.as_ref().is_some_and(is_path_class);
        for value in found {
            if property.path != PropertyPath::Identity && !is_path && is_list(store, &value) {
                match list_items(store, &value) {
                    Some(items) => values.extend(items),
                    None => {
                        let kind = ProblemKind::MalformedList { subject, name };
                        self.problem(kind, property);
                        return None;
                    }
                }
            } else {
                values.push(value);
            }
        }
        if values.is_empty() {
            if let Some(default) = &property.default_value {
                values.push(default.clone());
            }
        }
        let count = values.len();
        if count == 0 && property.min_count > 0 {
            let kind = ProblemKind::MissingArgument { subject, name };
            self.problem(kind, property);
            return None;
        }
        if let Some(max) = property.max_count {
            if count as u64 > max {
                let kind = ProblemKind::TooManyValues { subject, name, max, count };
                self.problem(kind, property);
                return None;
            }
        }
        if count > 0 && (count as u64) < property.min_count {
            let kind = ProblemKind::TooFewValues { subject, name, min: property.min_count, count };
            self.problem(kind, property);
            return None;
        }
        let mut converted = Vec::with_capacity(count);
        for value in &values {
            let value = self.relative_iri(node, property, value);
            converted.push(self.value(&value, property, field, depth)?);
        }
        if property.max_count == Some(1) {
            converted.into_iter().next()
        } else {
            Some(Value::Array(converted))
        }
    }

    fn value(&mut self, value: &Term, property: &PropertyShape, field: &str, depth: usize) -> Option<Value> {
        let extractor = self.extractor;
        let names = extractor.names;
        let value = match self.environment(value, property, field)? {
            Some(from_env) => from_env,
            None => value.clone(),
        };
        if let Some(class) = &property.class {
            if let Some(role) = channel_role(extractor.classes, class) {
                let root = self.root.clone();
                return match self.channels.channel_of(&value, role, &root, field) {
                    Ok(channel) => {
                        let mut reference = Map::new();
                        reference.insert(format!("@{}", role.as_str()), Value::String(channel));
                        Some(Value::Object(reference))
                    }
                    Err(kind) => {
                        self.problem(kind, property);
                        None
                    }
                };
            }
            if class.as_str() == iri::RDFL_CBD {
                return Some(serde_json::json!({ "@quads": self.concise_bounded_description(&value) }));
            }
            if is_path_class(class) {
                let quads = self.concise_bounded_description(&value);
                return Some(serde_json::json!({ "@path": rdfjs(&value), "@quads": quads }));
            }
            return self.nested(&value, class, property, field, depth);
        }
        match &property.datatype {
            Some(datatype) => self.typed(&value, datatype, property, field),
            None => match &value {
                Term::Literal(literal) => {
                    let datatype = literal.datatype().into_owned();
                    self.typed(&value, &datatype, property, field)
                }
                Term::NamedNode(n) => Some(Value::String(n.as_str().to_string())),
                _ => {
                    let types = types_of(extractor.store, &value);
                    match types.first() {
                        Some(class) => self.nested(&value, &class.clone(), property, field, depth),
                        None => {
                            let kind = ProblemKind::NoShapeForClass {
                                subject: names.term(&self.root),
                                name: field.to_string(),
                                class: "(untyped)".into(),
                            };
                            self.problem(kind, property);
                            None
                        }
                    }
                }
            },
        }
    }

    /// `rdfc:file "./procs.mjs"`: a relative path given as a string where an IRI is expected means
    /// what it would mean as an IRI, relative to the file that says it (RDF-Connect reads it so).
    fn relative_iri(&self, node: &Term, property: &PropertyShape, value: &Term) -> Term {
        let (Term::Literal(literal), Some(datatype), PropertyPath::Predicate(predicate)) =
            (value, &property.datatype, &property.path)
        else {
            return value.clone();
        };
        let text = literal.value();
        let relative = text.starts_with("./") || text.starts_with("../") || !text.contains(':');
        if ![iri::XSD_IRI, iri::XSD_ANY_URI].contains(&datatype.as_str()) || !relative || text.starts_with('/') {
            return value.clone();
        }
        let Some(subject) = crate::graph_walk::as_subject(node) else { return value.clone() };
        let graph = self
            .extractor
            .store
            .quads_for_pattern(Some(subject), Some(predicate.as_ref()), Some(value.as_ref()), None)
            .filter_map(Result::ok)
            .find_map(|q| match q.graph_name {
                oxigraph::model::GraphName::NamedNode(g) => Some(g),
                _ => None,
            });
        let Some(folder) =
            graph.and_then(|g| crate::fileurl::to_path(g.as_str())).and_then(|p| p.parent().map(Path::to_path_buf))
        else {
            return value.clone();
        };
        let mut path = folder;
        for part in std::path::Path::new(text).components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    path.pop();
                }
                other => path.push(other),
            }
        }
        Term::NamedNode(NamedNode::new_unchecked(crate::fileurl::from_path(&path)))
    }

    /// `sh:class rdfl:CBD`: the node's concise bounded description, its statements and those of the
    /// blank nodes it leads to, in document order, as RDF/JS quads in JSON (each runner turns them
    /// into its language's quads). A SHACL path (`rdfl:PathLens`) travels the same way: its node and
    /// the description that spells the path out (lists and inverse paths are blank nodes).
    fn concise_bounded_description(&self, node: &Term) -> Vec<Value> {
        let store = self.extractor.store;
        let order = self.extractor.order;
        let mut quads = Vec::new();
        let mut seen = vec![node.clone()];
        let mut pending = vec![node.clone()];
        while let Some(subject) = pending.pop() {
            let Some(s) = crate::graph_walk::as_subject(&subject) else { continue };
            let mut statements: Vec<(NamedNode, Term)> = store
                .quads_for_pattern(Some(s), None, None, Some(oxigraph::model::GraphNameRef::DefaultGraph))
                .filter_map(Result::ok)
                .map(|q| (q.predicate, q.object))
                .collect();
            statements.sort_by_key(|(p, o)| order.of(&subject, p, o));
            let mut next = Vec::new();
            for (predicate, object) in statements {
                if matches!(object, Term::BlankNode(_)) && !seen.contains(&object) {
                    seen.push(object.clone());
                    next.push(object.clone());
                }
                quads.push(serde_json::json!({
                    "termType": "Quad",
                    "subject": rdfjs(&subject),
                    "predicate": rdfjs(&Term::NamedNode(predicate)),
                    "object": rdfjs(&object),
                    "graph": { "termType": "DefaultGraph", "value": "" },
                }));
            }
            // Depth first, each node's own statements before those of the nodes it leads to.
            pending.extend(next.into_iter().rev());
        }
        quads
    }

    /// Resolves `[ a rdfl:EnvVariable; rdfl:envKey "K"; rdfl:envDefault "d" ]` to a string literal.
    /// Outer None: a problem was reported; inner None: not an environment variable.
    fn environment(&mut self, value: &Term, property: &PropertyShape, field: &str) -> Option<Option<Term>> {
        let store = self.extractor.store;
        let names = self.extractor.names;
        if matches!(value, Term::Literal(_)) {
            return Some(None);
        }
        if !types_of(store, value).iter().any(|t| t.as_str() == iri::RDFL_ENV_VARIABLE) {
            return Some(None);
        }
        let Some(Term::Literal(key)) = object(store, value, iri::RDFL_ENV_KEY) else {
            let kind = ProblemKind::EnvVariableWithoutKey { subject: names.term(&self.root), name: field.to_string() };
            self.problem(kind, property);
            return None;
        };
        let key = key.value().to_string();
        if let Some(found) = (self.extractor.env)(&key) {
            return Some(Some(Term::Literal(oxigraph::model::Literal::new_simple_literal(found))));
        }
        match object(store, value, iri::RDFL_ENV_DEFAULT) {
            Some(default) => Some(Some(default)),
            None => {
                let kind =
                    ProblemKind::UnknownEnvVariable { subject: names.term(&self.root), name: field.to_string(), key };
                self.problem(kind, property);
                None
            }
        }
    }

    fn nested(
        &mut self,
        value: &Term,
        class: &NamedNode,
        property: &PropertyShape,
        field: &str,
        depth: usize,
    ) -> Option<Value> {
        let extractor = self.extractor;
        let names = extractor.names;
        let subject = names.term(&self.root);
        if let Term::Literal(_) = value {
            let kind = ProblemKind::ExpectedResource { subject, name: field.to_string(), value: names.term(value) };
            self.problem(kind, property);
            return None;
        }
        let types = types_of(extractor.store, value);
        // `sh:class rdfl:TypedExtract`: whatever the value's own type is, extracted by its shapes.
        let any_type = class.as_str() == iri::RDFL_TYPED_EXTRACT;
        if !any_type && !types.is_empty() && !types.iter().any(|t| extractor.classes.is_a(t, class.as_str())) {
            let kind = ProblemKind::WrongClass {
                subject,
                name: field.to_string(),
                value: names.term(value),
                actual: types.iter().map(|t| names.iri(t.as_str())).collect::<Vec<_>>().join(", "),
                expected: names.iri(class.as_str()),
            };
            self.problem(kind, property);
            return None;
        }
        // The value's own (more specific) classes first, then the declared class and its ancestors.
        let mut shape_nodes = Vec::new();
        for class in types.iter().chain(std::iter::once(class)) {
            for ancestor in extractor.classes.with_superclasses(class) {
                for shape in extractor.shapes.for_class(ancestor) {
                    if !shape_nodes.contains(shape) {
                        shape_nodes.push(shape.clone());
                    }
                }
            }
        }
        if shape_nodes.is_empty() {
            return match value {
                // A class without a shape is a plain reference: pass its IRI.
                Term::NamedNode(n) => Some(Value::String(n.as_str().to_string())),
                _ => {
                    let kind = ProblemKind::NoShapeForClass {
                        subject,
                        name: field.to_string(),
                        class: names.iri(class.as_str()),
                    };
                    self.problem(kind, property);
                    None
                }
            };
        }
        // Messages name the top-level argument: the field of a deep value is as long as it is deep.
        let name = field.split('.').next().unwrap_or(field).to_string();
        if self.enclosing.contains(value) {
            let kind = ProblemKind::NestingLoop { subject, name, node: names.term(value), path: field.to_string() };
            self.problem(kind, property);
            return None;
        }
        if depth >= MAX_DEPTH {
            let kind = ProblemKind::NestingTooDeep { subject, name, depth };
            self.problem(kind, property);
            return None;
        }
        let target = names.iri(class.as_str());
        let properties = extractor.shapes.merged(shape_nodes.iter(), &target, &mut self.problems, names);
        self.enclosing.push(value.clone());
        let object = self.object(value, &properties, field, depth + 1);
        self.enclosing.pop();
        Some(Value::Object(object))
    }

    fn typed(&mut self, value: &Term, datatype: &NamedNode, property: &PropertyShape, field: &str) -> Option<Value> {
        let names = self.extractor.names;
        let dt = datatype.as_str();
        let text = match value {
            Term::Literal(l) => l.value().to_string(),
            // `js:glob <./input.txt>`: a relative IRI where a string is expected is a path to the
            // author, and RDF-Connect hands it over as the absolute path, not as a file: IRI.
            Term::NamedNode(n) if dt == iri::XSD_STRING && n.as_str().starts_with("file:") => {
                let path = crate::fileurl::to_path(n.as_str());
                let text = path.map(|p| p.display().to_string()).unwrap_or_else(|| n.as_str().to_string());
                return Some(Value::String(text));
            }
            Term::NamedNode(n) if is_iri_or_string(dt) => return Some(Value::String(n.as_str().to_string())),
            _ => {
                let kind = ProblemKind::ExpectedLiteral {
                    subject: names.term(&self.root),
                    name: field.to_string(),
                    value: names.term(value),
                    datatype: names.iri(dt),
                };
                self.problem(kind, property);
                return None;
            }
        };
        match convert(&text, dt) {
            Some(json) => Some(json),
            None => {
                let (subject, name, value, datatype) =
                    (names.term(&self.root), field.to_string(), names.term(value), names.iri(dt));
                let kind = if is_whole_number(&text) && XSD_INTEGERS.contains(&dt.strip_prefix(XSD).unwrap_or("")) {
                    ProblemKind::OutOfRange { subject, name, value, datatype }
                } else {
                    ProblemKind::WrongDatatype { subject, name, value, datatype }
                };
                self.problem(kind, property);
                None
            }
        }
    }
}

/// A term as RDF/JS writes it in JSON (`termType`, `value`, and a literal's language and datatype).
fn rdfjs(term: &Term) -> Value {
    match term {
        Term::NamedNode(n) => serde_json::json!({ "termType": "NamedNode", "value": n.as_str() }),
        Term::BlankNode(b) => serde_json::json!({ "termType": "BlankNode", "value": b.as_str() }),
        Term::Literal(l) => serde_json::json!({
            "termType": "Literal",
            "value": l.value(),
            "language": l.language().unwrap_or(""),
            "datatype": { "termType": "NamedNode", "value": l.datatype().as_str() },
        }),
        #[allow(unreachable_patterns)]
        other => serde_json::json!({ "termType": "NamedNode", "value": other.to_string() }),
    }
}

/// Digits with an optional sign: a number, even one no integer type can hold.
fn is_whole_number(text: &str) -> bool {
    let text = text.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_iri_or_string(datatype: &str) -> bool {
    [iri::XSD_IRI, iri::XSD_ANY_URI, iri::XSD_STRING].contains(&datatype)
}

/// The lexical form `text` as JSON of `datatype`: integers as integers, decimals and doubles as
/// numbers, booleans as booleans, anything else as a string. None when it does not fit.
pub fn convert(text: &str, datatype: &str) -> Option<Value> {
    let local = datatype.strip_prefix(XSD).unwrap_or("");
    if XSD_INTEGERS.contains(&local) {
        let text = text.trim();
        let text = text.strip_prefix('+').unwrap_or(text);
        let number = match text.parse::<i64>() {
            Ok(n) => Number::from(n),
            Err(_) => Number::from(text.parse::<u64>().ok()?),
        };
        let n = number.as_f64()?;
        let in_range = match local {
            "nonNegativeInteger" | "unsignedLong" => n >= 0.0,
            "positiveInteger" => n > 0.0,
            "nonPositiveInteger" => n <= 0.0,
            "negativeInteger" => n < 0.0,
            "int" => (i32::MIN as f64..=i32::MAX as f64).contains(&n),
            "short" => (i16::MIN as f64..=i16::MAX as f64).contains(&n),
            "byte" => (i8::MIN as f64..=i8::MAX as f64).contains(&n),
            "unsignedInt" => (0.0..=u32::MAX as f64).contains(&n),
            "unsignedShort" => (0.0..=u16::MAX as f64).contains(&n),
            "unsignedByte" => (0.0..=u8::MAX as f64).contains(&n),
            _ => true,
        };
        return in_range.then_some(Value::Number(number));
    }
    match datatype {
        iri::XSD_BOOLEAN => match text.trim() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        iri::XSD_DECIMAL | iri::XSD_DOUBLE | iri::XSD_FLOAT => {
            let text = text.trim();
            // Rust also parses "inf" and "NaN", which JSON cannot carry.
            if !text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
                return None;
            }
            if datatype == iri::XSD_DECIMAL && text.contains(['e', 'E']) {
                return None;
            }
            let n: f64 = text.parse().ok()?;
            Number::from_f64(n).map(Value::Number)
        }
        _ => Some(Value::String(text.to_string())),
    }
}

/// Reader for the reading-end classes of both vocabularies (and their subclasses), Writer for the
/// writing ends, None for any other class.
pub fn channel_role(classes: &Classes, class: &NamedNode) -> Option<Role> {
    if classes.is_a(class, iri::RDFC_READER) || classes.is_a(class, iri::CONN_READER_CHANNEL) {
        Some(Role::Reader)
    } else if classes.is_a(class, iri::RDFC_WRITER) || classes.is_a(class, iri::CONN_WRITER_CHANNEL) {
        Some(Role::Writer)
    } else {
        None
    }
}

/// `sh:class` of a SHACL path argument: rdf-lens names it rdfl:PathLens, RDF-Connect's orchestrator
/// registers rdfl:Path.
fn is_path_class(class: &NamedNode) -> bool {
    [iri::RDFL_PATH_LENS, iri::RDFL_PATH].contains(&class.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn xsd(local: &str) -> String {
        format!("{XSD}{local}")
    }

    #[test]
    fn converts_lexical_forms_by_datatype() {
        assert_eq!(convert("42", &xsd("integer")), Some(json!(42)));
        assert_eq!(convert("+7", &xsd("int")), Some(json!(7)));
        assert_eq!(convert("18446744073709551615", &xsd("unsignedLong")), Some(json!(18446744073709551615u64)));
        assert_eq!(convert("1.50", &xsd("decimal")), Some(json!(1.5)));
        assert_eq!(convert("1e3", &xsd("double")), Some(json!(1000.0)));
        assert_eq!(convert("1", &xsd("boolean")), Some(json!(true)));
        assert_eq!(convert("false", &xsd("boolean")), Some(json!(false)));
        assert_eq!(convert("hello", &xsd("string")), Some(json!("hello")));
        assert_eq!(convert("2024-01-01", &xsd("date")), Some(json!("2024-01-01")));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert_eq!(convert("abc", &xsd("integer")), None);
        assert_eq!(convert("1.5", &xsd("integer")), None);
        assert_eq!(convert("300", &xsd("byte")), None);
        assert_eq!(convert("-1", &xsd("nonNegativeInteger")), None);
        assert_eq!(convert("0", &xsd("positiveInteger")), None);
        assert_eq!(convert("yes", &xsd("boolean")), None);
        assert_eq!(convert("NaN", &xsd("double")), None);
        assert_eq!(convert("inf", &xsd("double")), None);
        assert_eq!(convert("1e3", &xsd("decimal")), None);
    }
}
