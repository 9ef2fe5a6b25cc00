//! The kit's pipelines, written as Turtle: processors of the runner under test in one runner instance,
//! their Rust peers in another, and the channels between them.

use super::target::Target;
use crate::fileurl;

/// A pipeline in the making. Names are relative IRIs (`<echo>`), resolved against the pipeline file.
#[derive(Default)]
pub struct Sketch {
    channels: Vec<String>,
    tested: Vec<(String, String)>,
    peers: Vec<(String, String)>,
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch::default()
    }

    pub fn channel(mut self, name: &str) -> Sketch {
        self.channels.push(name.to_string());
        self
    }

    /// A processor on the runner under test: `description` follows `<name> a `.
    pub fn tested(mut self, name: &str, description: &str) -> Sketch {
        self.tested.push((name.to_string(), description.to_string()));
        self
    }

    /// A processor on the Rust runner, the kit's reference peer.
    pub fn peer(mut self, name: &str, description: &str) -> Sketch {
        self.peers.push((name.to_string(), description.to_string()));
        self
    }

    pub fn turtle(&self, target: &Target) -> String {
        let mut out = String::from(
            "@prefix rcf: <https://w3id.org/riffle/conformance#>.\n\
             @prefix riffle: <https://w3id.org/riffle#>.\n\
             @prefix rdfc: <https://w3id.org/rdf-connect#>.\n\
             @prefix owl: <http://www.w3.org/2002/07/owl#>.\n\
             @prefix xsd: <http://www.w3.org/2001/XMLSchema#>.\n\n",
        );
        for import in &target.imports {
            out.push_str(&format!("<> owl:imports <{}>.\n", fileurl::from_path(import)));
        }
        let names =
            |list: &[(String, String)]| list.iter().map(|(n, _)| format!("<{n}>")).collect::<Vec<_>>().join(", ");
        let mut parts = vec![format!("[ rdfc:instantiates <{}>; rdfc:processor {} ]", target.iri, names(&self.tested))];
        if !self.peers.is_empty() {
            parts.push(format!("[ rdfc:instantiates riffle:RustRunner; rdfc:processor {} ]", names(&self.peers)));
        }
        out.push_str(&format!("<> a rdfc:Pipeline;\n  rdfc:consistsOf {}.\n\n", parts.join(",\n    ")));
        for channel in &self.channels {
            out.push_str(&format!("<{channel}> a rdfc:Reader, rdfc:Writer.\n"));
        }
        for (name, description) in self.tested.iter().chain(&self.peers) {
            out.push_str(&format!("<{name}> a {description}.\n"));
        }
        out
    }
}
