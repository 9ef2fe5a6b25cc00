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
                    });
                    table.by_end.insert(channel.clone(), (table.channels.len() - 1, None));
                    table.channels.len() - 1
                }
            };
            table.add_transport(index, row.get("transport"));
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

    fn add_transport(&mut self, index: usize, transport: Option<&Term>) {
        if let Some(Term::NamedNode(t)) = transport {
            let transports = &mut self.channels[index].transports;
            if !transports.contains(t) {
                transports.push(t.clone());
            }
        }
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
