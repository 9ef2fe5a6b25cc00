//! Channels as the pipeline declares them, in either vocabulary, and which processors use each end.
//!
//! RDF-Connect: the channel is one IRI typed `rdfc:Reader` and/or `rdfc:Writer`, passed as is to
//! both the writing and the reading processor. Connector architecture: a `:Channel` node links a
//! `:reader` end and a `:writer` end, and processors receive the ends.

use crate::arguments::{ChannelEnds, Role};
use crate::graph_walk::term_id;
use crate::names::Names;
use crate::problem::ProblemKind;
use crate::queries;
use crate::shapes::order_key;
use oxigraph::model::{NamedNode, Term};
use oxigraph::store::Store;
use riffle_protocol::Transport;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A processor argument that is one end of a channel.
#[derive(Debug, Clone)]
pub struct EndUse {
    pub processor: Term,
    pub argument: String,
}

#[derive(Debug, Clone)]
pub struct DeclaredChannel {
    pub id: String,
    pub node: Term,
    /// How messages name it: its IRI, or for a blank connector-architecture channel its ends.
    pub shown: String,
    pub transports: Vec<NamedNode>,
    pub readers: Vec<EndUse>,
    pub writers: Vec<EndUse>,
    /// A file or HTTP end of the connector architecture: its transport and settings.
    pub external: Option<(Transport, Map<String, Value>)>,
    /// `rdfc:logLevel`, lower-cased.
    pub log_level: Option<String>,
}

#[derive(Default)]
pub struct ChannelTable {
    pub channels: Vec<DeclaredChannel>,
    /// Every term a processor may pass as an end: the channel (RDF-Connect, either role) or one of
    /// its ends (connector architecture, with the role its channel gives it).
    by_end: HashMap<Term, (usize, Option<Role>)>,
}

impl ChannelTable {
    /// Also returns the problems found, each with the node it is about.
    pub fn load(store: &Store, names: &Names) -> (ChannelTable, Vec<(ProblemKind, Term)>) {
        let mut problems = Vec::new();
        let mut table = ChannelTable::default();
        let mut rows = queries::CHANNELS.select(store, &[]);
        rows.sort_by_key(|r| order_key(r.get("channel")));
        for row in rows {
            let Some(channel) = row.get("channel") else { continue };
            let index = match table.by_end.get(channel) {
                Some((index, _)) => *index,
                None => {
                    table.channels.push(DeclaredChannel {
                        id: term_id(channel),
                        node: channel.clone(),
                        shown: names.term(channel),
                        transports: Vec::new(),
                        readers: Vec::new(),
                        writers: Vec::new(),
                        external: None,
                        log_level: None,
                    });
                    table.by_end.insert(channel.clone(), (table.channels.len() - 1, None));
                    table.channels.len() - 1
                }
            };
            table.add_transport(index, row.get("transport"));
            if let Some(Term::Literal(level)) = row.get("logLevel") {
                table.channels[index].log_level = Some(level.value().to_lowercase());
            }
        }

        // Connector architecture: group the rows by channel node, then give each end its channel.
        let mut rows = queries::CONN_CHANNELS.select(store, &[]);
        rows.sort_by_key(|r| (order_key(r.get("channel")), order_key(r.get("end"))));
        // (channel node, its ends with their roles, its transports)
        type ConnChannel = (Term, Vec<(Term, Role)>, Vec<Term>);
        let mut ends_of: Vec<ConnChannel> = Vec::new();
        for row in rows {
            let (Some(channel), Some(end), Some(Term::Literal(role))) =
                (row.get("channel"), row.get("end"), row.get("role"))
            else {
                continue;
            };
            let role = if role.value() == "reader" { Role::Reader } else { Role::Writer };
            let entry = match ends_of.iter_mut().position(|(c, _, _)| c == channel) {
                Some(i) => &mut ends_of[i],
                None => {
                    ends_of.push((channel.clone(), Vec::new(), Vec::new()));
                    ends_of.last_mut().expect("just pushed")
                }
            };
            if !entry.1.contains(&(end.clone(), role)) {
                entry.1.push((end.clone(), role));
            }
            if let Some(transport) = row.get("transport") {
                if !entry.2.contains(transport) {
                    entry.2.push(transport.clone());
                }
            }
        }
        let mut claimed: HashMap<Term, usize> = HashMap::new();
        for (channel, ends, transports) in ends_of {
            let id = match &channel {
                Term::NamedNode(n) => n.as_str().to_string(),
                _ => ends
                    .iter()
                    .filter(|(_, r)| *r == Role::Reader)
                    .chain(ends.iter().filter(|(_, r)| *r == Role::Writer))
                    .find_map(|(end, _)| matches!(end, Term::NamedNode(_)).then(|| term_id(end)))
                    .unwrap_or_else(|| term_id(&channel)),
            };
            let shown = match &channel {
                Term::NamedNode(_) => names.term(&channel),
                _ => {
                    let ends: Vec<String> =
                        ends.iter().map(|(end, role)| format!("conn:{} {}", role.as_str(), names.term(end))).collect();
                    format!("[ {} ]", ends.join("; "))
                }
            };
            table.channels.push(DeclaredChannel {
                id,
                node: channel,
                shown,
                transports: Vec::new(),
                readers: Vec::new(),
                writers: Vec::new(),
                external: None,
                log_level: None,
            });
            let index = table.channels.len() - 1;
            for transport in &transports {
                table.add_transport(index, Some(transport));
            }
            for (end, role) in ends {
                *claimed.entry(end.clone()).or_default() += 1;
                table.by_end.insert(end, (index, Some(role)));
            }
        }
        table.load_external_ends(store, names, &mut problems);
        refuse_kafka_ends(store, names, &mut problems);
        let mut several: Vec<(Term, usize)> = claimed.into_iter().filter(|(_, n)| *n > 1).collect();
        several.sort_by_key(|(end, _)| order_key(Some(end)));
        for (end, count) in several {
            problems.push((ProblemKind::EndInSeveralChannels { end: names.term(&end), count }, end));
        }
        for channel in &mut table.channels {
            channel.transports.sort();
        }
        (table, problems)
    }

    /// File and HTTP ends are channels of their own, whatever `:Channel` links them: what is
    /// written to a file end goes to the file, and a file end reads what the file receives.
    fn load_external_ends(&mut self, store: &Store, names: &Names, problems: &mut Vec<(ProblemKind, Term)>) {
        let mut rows = queries::EXTERNAL_ENDS.select(store, &[]);
        rows.sort_by_key(|r| order_key(r.get("end")));
        let mut ends: Vec<(Term, Transport, Role, Map<String, Value>)> = Vec::new();
        for row in rows {
            let (Some(end), Some(Term::Literal(kind)), Some(Term::Literal(role))) =
                (row.get("end"), row.get("kind"), row.get("role"))
            else {
                continue;
            };
            let index = match ends.iter().position(|(e, ..)| e == end) {
                Some(i) => i,
                None => {
                    let (transport, defaults): (Transport, &[&str]) = match (kind.value(), role.value()) {
                        ("file", _) => (Transport::File, &["path", "onReplace", "readFirstContent", "encoding"]),
                        (_, "reader") => {
                            (Transport::Http, &["endpoint", "port", "binary", "waitHandled", "responseCode"])
                        }
                        _ => (Transport::Http, &["endpoint", "method"]),
                    };
                    let role = if role.value() == "reader" { Role::Reader } else { Role::Writer };
                    let options = defaults.iter().map(|name| (name.to_string(), Value::Null)).collect();
                    ends.push((end.clone(), transport, role, options));
                    ends.len() - 1
                }
            };
            if let (Some(Term::Literal(option)), Some(value)) = (row.get("option"), row.get("value")) {
                ends[index].3.insert(option.value().to_string(), setting(option.value(), value));
            }
        }
        for (end, transport, role, options) in ends {
            let required: &[&str] = match (transport, role) {
                (Transport::File, _) => &["path"],
                (_, Role::Writer) => &["endpoint", "method"],
                _ => &[],
            };
            for name in required.iter().filter(|n| options.get(**n).is_none_or(Value::is_null)) {
                let kind = ProblemKind::MissingArgument { subject: names.term(&end), name: name.to_string() };
                problems.push((kind, end.clone()));
            }
            self.channels.push(DeclaredChannel {
                id: term_id(&end),
                node: end.clone(),
                shown: names.term(&end),
                transports: Vec::new(),
                readers: Vec::new(),
                writers: Vec::new(),
                external: Some((transport, options)),
                log_level: None,
            });
            self.by_end.insert(end, (self.channels.len() - 1, Some(role)));
        }
    }

    fn add_transport(&mut self, index: usize, transport: Option<&Term>) {
        if let Some(Term::NamedNode(t)) = transport {
            let transports = &mut self.channels[index].transports;
            if !transports.contains(t) {
                transports.push(t.clone());
            }
        }
    }
}

/// Kafka ends would be taken for ends of in-memory or network channels, and a run would drop what is
/// written to them: refused, each once, until Riffle carries Kafka channels.
fn refuse_kafka_ends(store: &Store, names: &Names, problems: &mut Vec<(ProblemKind, Term)>) {
    let mut rows = queries::KAFKA_ENDS.select(store, &[]);
    rows.sort_by_key(|r| order_key(r.get("end")));
    let mut seen: Vec<Term> = Vec::new();
    for row in rows {
        let (Some(end), Some(class)) = (row.get("end"), row.get("class")) else { continue };
        if seen.contains(end) {
            continue;
        }
        seen.push(end.clone());
        problems.push((ProblemKind::KafkaEnd { end: names.term(end), class: names.term(class) }, end.clone()));
    }
}

pub struct ChannelResolver<'t> {
    pub table: &'t mut ChannelTable,
    pub names: &'t Names,
}

impl ChannelEnds for ChannelResolver<'_> {
    fn channel_of(&mut self, end: &Term, role: Role, processor: &Term, argument: &str) -> Result<String, ProblemKind> {
        let Some(&(index, declared)) = self.table.by_end.get(end) else {
            return Err(ProblemKind::NotAChannel {
                processor: self.names.term(processor),
                end: self.names.term(end),
                role: role.as_str().to_string(),
            });
        };
        if let Some(declared) = declared {
            if declared != role {
                return Err(ProblemKind::EndRoleMismatch {
                    end: self.names.term(end),
                    used: role.as_str().to_string(),
                    declared: declared.as_str().to_string(),
                });
            }
        }
        let channel = &mut self.table.channels[index];
        let used = EndUse { processor: processor.clone(), argument: argument.to_string() };
        match role {
            Role::Reader => channel.readers.push(used),
            Role::Writer => channel.writers.push(used),
        }
        Ok(channel.id.clone())
    }
}

/// A setting's value as the connector architecture's runner receives it: typed as its shapes type
/// it (`:fileOnReplace "false"` is the boolean false), a file IRI as its path, anything else as text.
fn setting(option: &str, value: &Term) -> Value {
    let datatype = match option {
        "onReplace" | "readFirstContent" | "binary" | "waitHandled" => Some(crate::vocab::iri::XSD_BOOLEAN),
        "port" | "responseCode" => Some(crate::vocab::iri::XSD_INTEGER),
        _ => None,
    };
    match value {
        Term::Literal(l) => crate::arguments::convert(l.value(), datatype.unwrap_or(l.datatype().as_str()))
            .unwrap_or_else(|| Value::String(l.value().to_string())),
        Term::NamedNode(n) => match crate::fileurl::to_path(n.as_str()) {
            Some(path) => Value::String(path.display().to_string()),
            None => Value::String(n.as_str().to_string()),
        },
        other => Value::String(other.to_string()),
    }
}
