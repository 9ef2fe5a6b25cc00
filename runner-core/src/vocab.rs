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
