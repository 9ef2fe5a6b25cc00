//! Processors whose channels lead back to themselves (A -> B -> A). Such a pipeline is valid, but it ends
//! only if one of them ends its writer by itself, which a pass-through never does: worth a warning.

use crate::plan::Plan;
use std::collections::{BTreeMap, BTreeSet};

/// Each cycle once, as the processor ids along it (in plan order from its first member).
pub fn processor_cycles(plan: &Plan) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for channel in &plan.channels {
        for writer in &channel.writers {
            for reader in &channel.readers {
                next.entry(writer.processor.as_str()).or_default().insert(reader.processor.as_str());
            }
        }
    }
    let mut cycles = Vec::new();
    let mut in_a_cycle: BTreeSet<&str> = BTreeSet::new();
    for start in plan.processors.iter().map(|p| p.id.as_str()) {
        if in_a_cycle.contains(start) {
            continue;
        }
        if let Some(path) = path_back(&next, start) {
            in_a_cycle.extend(path.iter().copied());
            cycles.push(path.into_iter().map(String::from).collect());
        }
    }
    cycles
}

/// The shortest path from `start` back to itself, breadth first, if there is one.
fn path_back<'a>(next: &BTreeMap<&'a str, BTreeSet<&'a str>>, start: &'a str) -> Option<Vec<&'a str>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut frontier = vec![start];
    while !frontier.is_empty() {
        let mut following = Vec::new();
        for node in frontier {
            for &to in next.get(node).into_iter().flatten() {
                if to == start {
                    let mut path = vec![node];
                    while let Some(&before) = came_from.get(path[path.len() - 1]) {
                        path.push(before);
                    }
                    if path[path.len() - 1] != start {
                        path.push(start);
                    }
                    path.reverse();
                    path.dedup();
                    return Some(path);
                }
                if to != start && !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    following.push(to);
                }
            }
        }
        frontier = following;
    }
    None
}
