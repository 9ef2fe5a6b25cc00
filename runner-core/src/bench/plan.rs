//! `riffle bench plan`: resolution speed on a generated pipeline, printed beside a raw baseline
//! measured in the same run (parsing the same Turtle into a store, nothing else).

use crate::resolve::{resolve, Options};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::store::Store;
use std::io::Write;

use super::{median, ms};
use std::time::{Duration, Instant};

/// A chain of `n` processors joined by `n` channels (the last one read by a sink), with typed
/// arguments of several kinds, all declared in the same file.
pub fn generated_pipeline(n: usize) -> String {
    let mut ttl = String::from(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix sh: <http://www.w3.org/ns/shacl#>.\n\
@prefix xsd: <http://www.w3.org/2001/XMLSchema#>.\n@prefix ex: <http://example.org/>.\n\
ex:Stage rdfc:jsImplementationOf rdfc:Processor; rdfc:file <./stage.js>; rdfc:class \"Stage\".\n\
[] a sh:NodeShape; sh:targetClass ex:Stage; sh:property\n\
  [ sh:path ex:in; sh:name \"input\"; sh:class rdfc:Reader; sh:maxCount 1 ],\n\
  [ sh:path ex:out; sh:name \"output\"; sh:class rdfc:Writer; sh:minCount 1; sh:maxCount 1 ],\n\
  [ sh:path ex:count; sh:name \"count\"; sh:datatype xsd:integer; sh:maxCount 1 ],\n\
  [ sh:path ex:ratio; sh:name \"ratio\"; sh:datatype xsd:double; sh:maxCount 1 ],\n\
  [ sh:path ex:label; sh:name \"labels\"; sh:datatype xsd:string ].\n\
ex:Sink rdfc:jsImplementationOf rdfc:Processor; rdfc:file <./sink.js>; rdfc:class \"Sink\".\n\
[] a sh:NodeShape; sh:targetClass ex:Sink; sh:property [ sh:path ex:in; sh:name \"input\"; sh:class rdfc:Reader; sh:minCount 1; sh:maxCount 1 ].\n\
<> a rdfc:Pipeline.\n",
    );
    for i in 0..n {
        ttl.push_str(&format!("<c{i}> a rdfc:Reader, rdfc:Writer.\n<p{i}> a ex:Stage; ex:out <c{i}>; ex:count {i}; ex:ratio 0.5; ex:label \"a\", \"b\""));
        if i > 0 {
            ttl.push_str(&format!("; ex:in <c{}>", i - 1));
        }
        ttl.push_str(".\n");
    }
    ttl.push_str(&format!("<sink> a ex:Sink; ex:in <c{}>.\n", n.saturating_sub(1)));
    ttl
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

pub fn plan(processors: usize, runs: usize, out: &mut dyn Write) -> std::io::Result<()> {
    let folder = std::env::temp_dir().join(format!("riffle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let path = folder.join("pipeline.ttl");
    let ttl = generated_pipeline(processors);
    std::fs::write(&path, &ttl)?;
    let base = crate::fileurl::from_path(&path);

    let raw = time(runs, || {
        let store = Store::new().expect("in-memory store");
        let parser = RdfParser::from_format(RdfFormat::Turtle).with_base_iri(base.as_str()).expect("valid base");
        store.load_from_reader(parser, ttl.as_bytes()).expect("generated Turtle parses");
    });
    let mut problems = 0;
    let mut channels = 0;
    let full = time(runs, || {
        let resolution = resolve(&path, &Options::default());
        problems = resolution.problems.len();
        channels = resolution.plan.channels.len();
    });

    let empty = folder.join("empty.ttl");
    std::fs::write(&empty, "")?;
    let bare_store = time(runs * 5, || drop(Store::new().expect("in-memory store")));
    let with_bundled = time(runs * 5, || drop(crate::loader::load(&empty)));
    std::fs::remove_dir_all(&folder)?;

    writeln!(
        out,
        "riffle bench plan: {processors} processors, {channels} channels, {} lines of Turtle, median of {runs} runs",
        ttl.lines().count()
    )?;
    writeln!(out, "  {:<44} {:>10}", "raw: parse the Turtle into a store", ms(raw))?;
    writeln!(
        out,
        "  {:<44} {:>10}  ({:.1}x raw)",
        "riffle: load + resolve + plan graph",
        ms(full),
        full.as_secs_f64() / raw.as_secs_f64()
    )?;
    writeln!(out, "  {:<44} {:>10}", "raw: empty store", ms(bare_store))?;
    writeln!(
        out,
        "  {:<44} {:>10}  (+{} for the bundled ontology)",
        "riffle: empty pipeline with bundled files",
        ms(with_bundled),
        ms(with_bundled.saturating_sub(bare_store))
    )?;
    if problems > 0 {
        writeln!(
            out,
            "  note: the generated pipeline had {problems} problem(s) (expected only when `node` is not on PATH)"
        )?;
    }
    Ok(())
}
