//! IRIs of the vocabularies Riffle reads. Kept in one place so that every module spells them alike.

pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
pub const SH: &str = "http://www.w3.org/ns/shacl#";
pub const OWL: &str = "http://www.w3.org/2002/07/owl#";
pub const RDFC: &str = "https://w3id.org/rdf-connect#";
pub const CONN: &str = "https://w3id.org/conn#";
pub const JS: &str = "https://w3id.org/conn/js#";
pub const WS: &str = "https://w3id.org/conn/ws#";
pub const RDFL: &str = "https://w3id.org/rdf-lens/ontology#";
pub const RIFFLE: &str = "https://w3id.org/riffle#";
pub const FNO: &str = "https://w3id.org/function/ontology#";
pub const FNOM: &str = "https://w3id.org/function/vocabulary/mapping#";

/// Prefixes used to print IRIs compactly in messages and drawings, most specific first.
pub const PREFIXES: &[(&str, &str)] = &[
    ("rdfc", RDFC),
    ("js", JS),
    ("ws", WS),
    ("conn", CONN),
    ("riffle", RIFFLE),
    ("rdfl", RDFL),
    ("fnom", FNOM),
    ("fno", FNO),
    ("sh", SH),
    ("xsd", XSD),
    ("rdfs", RDFS),
    ("rdf", RDF),
    ("owl", OWL),
];

/// The named graph that holds the plan written back as RDF.
pub const PLAN_GRAPH: &str = "urn:riffle:plan";

pub mod iri {
    macro_rules! iris {
        ($($name:ident = $ns:ident + $local:literal;)*) => {
            $(pub const $name: &str = concat_ns!($ns, $local);)*
        };
    }
    macro_rules! concat_ns {
        (RDF, $l:literal) => {
            concat!("http://www.w3.org/1999/02/22-rdf-syntax-ns#", $l)
        };
        (RDFS, $l:literal) => {
            concat!("http://www.w3.org/2000/01/rdf-schema#", $l)
        };
        (XSD, $l:literal) => {
            concat!("http://www.w3.org/2001/XMLSchema#", $l)
        };
        (SH, $l:literal) => {
            concat!("http://www.w3.org/ns/shacl#", $l)
        };
        (OWL, $l:literal) => {
            concat!("http://www.w3.org/2002/07/owl#", $l)
        };
        (RDFC, $l:literal) => {
            concat!("https://w3id.org/rdf-connect#", $l)
        };
        (CONN, $l:literal) => {
            concat!("https://w3id.org/conn#", $l)
        };
        (RDFL, $l:literal) => {
            concat!("https://w3id.org/rdf-lens/ontology#", $l)
        };
        (RIFFLE, $l:literal) => {
            concat!("https://w3id.org/riffle#", $l)
        };
    }
    iris! {
        RDF_TYPE = RDF + "type";
        RDF_FIRST = RDF + "first";
        RDF_REST = RDF + "rest";
        RDF_NIL = RDF + "nil";
        RDFS_SUBCLASS_OF = RDFS + "subClassOf";
        SH_INVERSE_PATH = SH + "inversePath";
        OWL_IMPORTS = OWL + "imports";
        RDFC_READER = RDFC + "Reader";
        RDFC_WRITER = RDFC + "Writer";
        RDFC_PROCESSOR = RDFC + "processor";
        RDFC_COMMAND = RDFC + "command";
        RIFFLE_ARGV = RIFFLE + "argv";
        CONN_READER_CHANNEL = CONN + "ReaderChannel";
        CONN_WRITER_CHANNEL = CONN + "WriterChannel";
        RDFL_ENV_VARIABLE = RDFL + "EnvVariable";
        RDFL_ENV_KEY = RDFL + "envKey";
        RDFL_ENV_DEFAULT = RDFL + "envDefault";
        RDFL_CBD = RDFL + "CBD";
        RDFL_TYPED_EXTRACT = RDFL + "TypedExtract";
        RDFL_PATH_LENS = RDFL + "PathLens";
        RDFL_PATH = RDFL + "Path";
        RIFFLE_MEMORY = RIFFLE + "Memory";
        RIFFLE_TCP = RIFFLE + "Tcp";
        RIFFLE_WEBSOCKET = RIFFLE + "WebSocket";
        RIFFLE_FILE = RIFFLE + "File";
        RIFFLE_HTTP = RIFFLE + "Http";
        XSD_STRING = XSD + "string";
        XSD_BOOLEAN = XSD + "boolean";
        XSD_INTEGER = XSD + "integer";
        XSD_DECIMAL = XSD + "decimal";
        XSD_DOUBLE = XSD + "double";
        XSD_FLOAT = XSD + "float";
        XSD_IRI = XSD + "iri";
        XSD_ANY_URI = XSD + "anyURI";
    }
}

/// XSD integer types: their values become JSON integers.
pub const XSD_INTEGERS: &[&str] = &[
    "integer",
    "int",
    "long",
    "short",
    "byte",
    "nonNegativeInteger",
    "positiveInteger",
    "nonPositiveInteger",
    "negativeInteger",
    "unsignedLong",
    "unsignedInt",
    "unsignedShort",
    "unsignedByte",
];

#[cfg(test)]
mod tests {
    use oxigraph::io::{RdfFormat, RdfParser};
    use oxigraph::model::NamedOrBlankNode;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
    }

    /// Every file under `dir` (recursively) whose name ends in one of `extensions`.
    fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, extensions, out);
            } else if extensions.iter().any(|x| path.to_string_lossy().ends_with(x)) {
                out.push(path);
            }
        }
    }

    /// The local names of Riffle's namespace that `text` uses, as `riffle:name` or as a full IRI. Not
    /// `urn:riffle:…` names, nor identifiers such as `riffle:fan-out` that only look like terms.
    fn riffle_terms(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for marker in ["riffle:", super::RIFFLE] {
            for (at, _) in text.match_indices(marker) {
                if marker == "riffle:" && text[..at].ends_with("urn:") {
                    continue;
                }
                let rest = &text[at + marker.len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let next = rest[name.len()..].chars().next();
                if name.starts_with(|c: char| c.is_ascii_alphabetic()) && !matches!(next, Some('-' | ':')) {
                    found.insert(name);
                }
            }
        }
        found
    }

    /// The terms a Turtle file gives statements about (its subjects in Riffle's namespace).
    fn declared_in(path: &Path, out: &mut BTreeSet<String>) {
        let text = std::fs::read(path).unwrap();
        for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(&text) {
            let quad = quad.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let NamedOrBlankNode::NamedNode(subject) = &quad.subject {
                if let Some(local) = subject.as_str().strip_prefix(super::RIFFLE) {
                    out.insert(local.to_owned());
                }
            }
        }
    }

    #[test]
    fn every_term_of_riffles_namespace_used_in_code_is_declared() {
        let root = repo();
        // Declarations: the ontology, and each runner's description of itself and its processors.
        let mut declarations = Vec::new();
        files(&root.join("ontology"), &[".ttl"], &mut declarations);
        for runner in ["rust", "js", "java", "python"] {
            declarations.push(root.join(format!("runners/{runner}/runner.ttl")));
        }
        let mut declared = BTreeSet::new();
        for path in &declarations {
            declared_in(path, &mut declared);
        }
        // Uses: the code of the core, the channels, the queries and every runner (not tests, which name
        // undeclared terms on purpose), and the runners' descriptions.
        let mut code = declarations.clone();
        for (dir, extensions) in [
            ("runner-core/src", &[".rs"][..]),
            ("channels/src", &[".rs"]),
            ("ontology/queries", &[".rq"]),
            ("runners/rust/src", &[".rs"]),
            ("runners/js/src", &[".mjs", ".js"]),
            ("runners/java/src/main", &[".java"]),
            ("runners/python/riffle_runner", &[".py"]),
        ] {
            files(&root.join(dir), extensions, &mut code);
        }
        let mut undeclared: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for path in &code {
            let text = std::fs::read_to_string(path).unwrap();
            for term in riffle_terms(&text).into_iter().filter(|t| !declared.contains(t)) {
                let shown = path.strip_prefix(&root).unwrap().display().to_string();
                undeclared.entry(format!("riffle:{term}")).or_default().push(shown);
            }
        }
        assert!(code.len() > 100, "only {} files scanned", code.len());
        assert!(declared.len() > 100, "only {} terms declared", declared.len());
        assert!(undeclared.is_empty(), "used but not declared in ontology/ or a runner.ttl: {undeclared:#?}");
    }

    #[test]
    fn terms_are_found_as_prefixed_names_and_full_iris_but_not_in_urns_or_identifiers() {
        let text = "riffle:Generator; <https://w3id.org/riffle#count> <urn:riffle:plan> riffle:fan-out riffle:3x";
        assert_eq!(riffle_terms(text), BTreeSet::from(["Generator".to_owned(), "count".to_owned()]));
    }
}
