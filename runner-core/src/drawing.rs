//! `riffle graph`: processors and channels as Graphviz dot or Mermaid, labelled with runner and
//! transport.

use crate::names::Names;
use crate::plan::Plan;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawingFormat {
    Dot,
    Mermaid,
}

/// (writer, reader, label) for every writer/reader pair of every channel.
fn edges(plan: &Plan, names: &Names) -> Vec<(usize, usize, String)> {
    let index = |id: &str| plan.processors.iter().position(|p| p.id == id);
    let mut edges = Vec::new();
    for channel in &plan.channels {
        let label = format!("{} ({})", show_id(names, &channel.id), channel.transport.as_str());
        for writer in &channel.writers {
            for reader in &channel.readers {
                if let (Some(w), Some(r)) = (index(&writer.processor), index(&reader.processor)) {
                    edges.push((w, r, label.clone()));
                }
            }
        }
    }
    edges
}

fn show_id(names: &Names, id: &str) -> String {
    names.id(id)
}

pub fn draw(plan: &Plan, names: &Names, format: DrawingFormat) -> String {
    let mut out = String::new();
    match format {
        DrawingFormat::Dot => {
            // Graphviz breaks label lines at the two characters `\n`, not at a newline.
            let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
            out.push_str("digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n");
            for runner in &plan.runners {
                let label = format!(
                    "runner {}{}",
                    runner.id,
                    runner.label.as_ref().map(|l| format!(": {l}")).unwrap_or_default()
                );
                let _ = writeln!(
                    out,
                    "  subgraph {} {{\n    label={};",
                    quote(&format!("cluster_{}", runner.id)),
                    quote(&label)
                );
                for (i, p) in plan.processors.iter().enumerate().filter(|(_, p)| p.runner == runner.id) {
                    let label = format!("{}\n{}", show_id(names, &p.id), names.iri(&p.class));
                    let _ = writeln!(out, "    p{i} [label={}];", quote(&label));
                }
                out.push_str("  }\n");
            }
            for (w, r, label) in edges(plan, names) {
                let _ = writeln!(out, "  p{w} -> p{r} [label={}];", quote(&label));
            }
            out.push_str("}\n");
        }
        DrawingFormat::Mermaid => {
            // Mermaid labels are HTML: escape what would end the label or open a tag.
            let escape = |s: &str| s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;");
            out.push_str("flowchart LR\n");
            for runner in &plan.runners {
                let label = format!(
                    "runner {}{}",
                    runner.id,
                    runner.label.as_ref().map(|l| format!(": {l}")).unwrap_or_default()
                );
                let _ = writeln!(out, "  subgraph r_{}[\"{}\"]", runner.id.replace('-', "_"), escape(&label));
                for (i, p) in plan.processors.iter().enumerate().filter(|(_, p)| p.runner == runner.id) {
                    let _ = writeln!(
                        out,
                        "    p{i}[\"{}<br/>{}\"]",
                        escape(&show_id(names, &p.id)),
                        escape(&names.iri(&p.class))
                    );
                }
                out.push_str("  end\n");
            }
            for (w, r, label) in edges(plan, names) {
                let _ = writeln!(out, "  p{w} -->|\"{}\"| p{r}", escape(&label));
            }
        }
    }
    out
}
