//! Printing IRIs the way the pipeline's author wrote them: relative to the pipeline's folder, or
//! with the usual prefix, so that messages and drawings stay short and recognisable.

use crate::vocab::PREFIXES;
use oxigraph::model::Term;

#[derive(Debug, Clone)]
pub struct Names {
    /// `file:///…/folder/` of the pipeline file; IRIs below it print relative to it.
    base: String,
    /// Prefixes declared in the pipeline's own files, used after the well-known ones.
    learned: Vec<(String, String)>,
    /// Names of blank nodes that need one (processors), by label: see [`crate::blank_names`].
    blank: std::collections::HashMap<String, String>,
}

/// IRIs longer than this many characters print shortened.
pub const LONG_IRI: usize = 200;

fn shorten(iri: &str) -> std::borrow::Cow<'_, str> {
    let count = iri.chars().count();
    if count <= LONG_IRI {
        return iri.into();
    }
    let head: String = iri.chars().take(LONG_IRI / 2).collect();
    let tail: String = iri.chars().skip(count - LONG_IRI / 4).collect();
    format!("{head}…({} characters)…{tail}", count - LONG_IRI / 2 - LONG_IRI / 4).into()
}

impl Names {
    pub fn new(base_folder_url: String) -> Self {
        Names { base: base_folder_url, learned: Vec::new(), blank: Default::default() }
    }

    pub fn name_blank(&mut self, label: &str, name: String) {
        self.blank.insert(label.to_string(), name);
    }

    /// How a plan id prints: an IRI as [`Names::iri`], a blank node (`_:label`) by its name.
    pub fn id(&self, id: &str) -> String {
        match id.strip_prefix("_:") {
            Some(label) => self.blank.get(label).cloned().unwrap_or_else(|| "[]".to_string()),
            None => self.iri(id),
        }
    }

    /// Remembers a prefix the author declared; the first declaration of a namespace wins.
    pub fn learn(&mut self, prefix: &str, namespace: &str) {
        let known = PREFIXES.iter().any(|(_, ns)| *ns == namespace)
            || self.learned.iter().any(|(p, ns)| ns == namespace || p == prefix);
        if !known && !namespace.is_empty() && !namespace.starts_with(&self.base) {
            self.learned.push((prefix.to_string(), namespace.to_string()));
        }
    }

    /// `<gen>` for a file IRI next to the pipeline, `rdfc:Reader` for a known namespace. IRIs
    /// longer than [`LONG_IRI`] characters are shortened in the middle: a message must stay
    /// readable even about a pipeline that names things with megabytes of IRI.
    pub fn iri(&self, iri: &str) -> String {
        if let Some(rest) = iri.strip_prefix(&self.base) {
            return format!("<{}>", shorten(rest));
        }
        let builtin = PREFIXES.iter().map(|(p, ns)| (*p, *ns));
        let learned = self.learned.iter().map(|(p, ns)| (p.as_str(), ns.as_str()));
        for (prefix, namespace) in builtin.chain(learned) {
            if let Some(local) = iri.strip_prefix(namespace) {
                if !local.is_empty() && local.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                    return format!("{prefix}:{local}");
                }
            }
        }
        format!("<{}>", shorten(iri))
    }

    /// Blank nodes print as `[]`, their labels being Riffle's, not the author's; named ones
    /// (processors) by their name.
    pub fn term(&self, term: &Term) -> String {
        match term {
            Term::NamedNode(n) => self.iri(n.as_str()),
            Term::BlankNode(b) => self.blank.get(b.as_str()).cloned().unwrap_or_else(|| "[]".to_string()),
            Term::Literal(l) => {
                let value = l.value();
                let shown: String = if value.chars().count() > 60 {
                    format!("{}…", value.chars().take(60).collect::<String>())
                } else {
                    value.to_string()
                };
                format!("\"{}\"", shown.escape_debug())
            }
            #[allow(unreachable_patterns)]
            other => other.to_string(),
        }
    }

    /// A file path as shown in messages: relative to the pipeline's folder where it is inside it.
    pub fn file(&self, url: &str) -> String {
        if let Some(rest) = url.strip_prefix(&self.base) {
            return crate::fileurl::decode(rest);
        }
        if let Some(bundled) = url.strip_prefix(crate::bundled::GRAPH_PREFIX) {
            return format!("(bundled) {bundled}");
        }
        crate::fileurl::to_path(url).map(|p| p.display().to_string()).unwrap_or_else(|| url.to_string())
    }
}
