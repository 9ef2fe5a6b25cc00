//! Resolution behaviours, each on a small pipeline under tests/resolution/.

mod support;

use riffle_core::plan::{Plan, Transport};
use serde_json::json;
use std::path::PathBuf;

fn resolved(path: &str) -> (Plan, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/resolution").join(path);
    let resolution = support::resolve_here(&path);
    assert!(resolution.problems.is_empty(), "{}", riffle_core::problem::report(&resolution.problems));
    let folder = riffle_core::fileurl::folder_of(&path);
    (resolution.plan, folder)
}

#[test]
fn import_cycles_are_followed_once() {
    let (plan, _) = resolved("cycle/a.ttl");
    assert_eq!(plan.processors.len(), 2);
    assert_eq!(plan.channels.len(), 1);
    assert_eq!(plan.channels[0].writers.len(), 1);
    assert_eq!(plan.channels[0].readers.len(), 1);
}

#[test]
fn every_rdf_format_loads_by_extension() {
    let (plan, _) = resolved("formats/pipeline.ttl");
    let ids: Vec<&str> = plan.processors.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["http://example.org/gen", "http://example.org/sink"]);
    assert_eq!(plan.channels[0].id, "http://example.org/c");
    assert_eq!(
        plan.processor("http://example.org/gen").unwrap().arguments["writer"],
        json!({"@writer": "http://example.org/c"})
    );
}

#[test]
fn rdfc_node_runner_means_riffles_js_runner_even_when_its_definition_is_imported() {
    let (plan, _) = resolved("imported-node-runner/pipeline.ttl");
    // Both are assigned to rdfc:NodeRunner, whose imported definition ("npx js-runner") is not
    // used: they land in one instance of Riffle's runner.
    assert_eq!(plan.runners.len(), 1);
    assert_eq!(plan.runners[0].runner, "https://w3id.org/riffle#JsRunner");
    assert_eq!(plan.runners[0].argv[0], "node");
    assert_eq!(plan.runners[0].processors.len(), 2);
}

#[test]
fn shapes_give_defaults_subclasses_inverse_and_identity_paths() {
    let (plan, folder) = resolved("features/pipeline.ttl");
    let source = plan.processor(&format!("{folder}source")).unwrap();
    assert_eq!(
        serde_json::Value::Object(source.arguments.clone()),
        json!({
            "id": format!("{folder}source"),
            "out": { "@writer": format!("{folder}link") },
            "retries": 3,
            "ratio": 0.25,
            "target": { "port": 5432, "name": "db" },
            "watchers": [format!("{folder}watcher")]
        })
    );
}

#[test]
fn two_parts_of_one_runner_are_two_instances_and_ws_ends_mean_websocket() {
    let (plan, folder) = resolved("features/pipeline.ttl");
    let instances: Vec<(&str, &[String])> =
        plan.runners.iter().map(|r| (r.id.as_str(), r.processors.as_slice())).collect();
    assert_eq!(
        instances,
        [("javascript", &[format!("{folder}source")][..]), ("javascript-2", &[format!("{folder}sink")][..])]
    );
    assert_eq!(plan.channels.len(), 1);
    assert_eq!(plan.channels[0].transport, Transport::WebSocket);
    assert!(plan.channels[0].crosses_runners);
}

#[test]
fn connector_architecture_habits_resolve_as_its_runner_reads_them() {
    let (plan, folder) = resolved("conn-ends/pipeline.ttl");
    let names: Vec<Option<&str>> = plan.processors.iter().map(|p| p.name.as_deref()).collect();
    assert_eq!(names, [Some("[ex:Read at pipeline.ttl:18]"), Some("[ex:Serve at pipeline.ttl:24]")]);
    let dir = folder.strip_prefix("file://").unwrap();
    let read = &plan.processors[0];
    assert_eq!(read.arguments["glob"], json!(format!("{dir}input.txt")));
    assert_eq!(read.arguments["names"], json!(["b", "a", "c"]));
    let out = plan.channels.iter().find(|c| c.id == format!("{folder}out")).unwrap();
    assert_eq!(out.transport, Transport::File);
    assert_eq!((out.writers.len(), out.readers.len()), (1, 0));
    assert_eq!(
        out.options,
        Some(
            json!({"path": format!("{dir}out.txt"), "onReplace": true, "readFirstContent": null, "encoding": null})
                .as_object()
                .unwrap()
                .clone()
        )
    );
    let input = plan.channels.iter().find(|c| c.id == format!("{folder}in")).unwrap();
    assert_eq!(input.transport, Transport::Http);
    assert_eq!((input.writers.len(), input.readers.len()), (0, 1));
    // Typed as the connector architecture's shapes type them, even when given as strings.
    assert_eq!(input.options.as_ref().unwrap()["port"], json!(8123));
    assert_eq!(input.options.as_ref().unwrap()["binary"], json!(false));
}

#[test]
fn only_listed_processors_run_and_strings_and_descriptions_resolve_as_rdf_connect_does() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/resolution/rdfc-listed/pipeline.ttl");
    let resolution = support::resolve_here(&path);
    assert!(resolution.problems.is_empty(), "{}", riffle_core::problem::report(&resolution.problems));
    let notes: Vec<String> = resolution.notices.iter().map(|n| n.kind.to_string()).collect();
    assert_eq!(
        notes,
        [
            "processor <lib/example> is not part of the pipeline <pipeline.ttl>, so it is not run",
            "channel <c> has no reader: what is written to it is dropped"
        ]
    );
    let folder = riffle_core::fileurl::folder_of(&path);
    let plan = resolution.plan;
    assert_eq!(plan.processors.len(), 1);
    let describe = &plan.processors[0];
    assert_eq!(describe.implementation["file"], json!(format!("{folder}lib/procs.js")));
    let quads = describe.arguments["about"]["@quads"].as_array().unwrap();
    let statements: Vec<(String, String)> = quads
        .iter()
        .map(|q| (q["predicate"]["value"].as_str().unwrap().into(), q["object"]["value"].as_str().unwrap().into()))
        .collect();
    let part = quads[1]["object"]["value"].as_str().unwrap().to_string();
    assert_eq!(
        statements,
        [
            ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type".to_string(), "http://example.org/Thing".to_string()),
            ("http://example.org/part".to_string(), part.clone()),
            ("http://example.org/size".to_string(), "2".to_string()),
        ]
    );
    assert_eq!(quads[2]["subject"]["value"], json!(part));
    assert_eq!(quads[2]["object"]["datatype"]["value"], json!("http://www.w3.org/2001/XMLSchema#integer"));
}

#[test]
fn a_large_import_keeps_only_what_connects_to_the_pipeline() {
    let folder = support::folder_with(
        "@prefix rdfc: <https://w3id.org/rdf-connect#>. @prefix riffle: <https://w3id.org/riffle#>.\n\
         @prefix owl: <http://www.w3.org/2002/07/owl#>.\n\
         <> a rdfc:Pipeline; owl:imports <big.ttl>.\n\
         <c> a rdfc:Reader, rdfc:Writer.\n\
         <gen> a riffle:Generator; riffle:output <c>; riffle:size 64.\n",
    );
    // Connected: an argument of <gen>, a blank node hanging off it, and an import whose file holds
    // the reading processor. The rest is noise, past the size kept whole.
    let mut big = String::from(
        "@prefix riffle: <https://w3id.org/riffle#>. @prefix owl: <http://www.w3.org/2002/07/owl#>.\n\
         @prefix ex: <http://example.org/>.\n\
         <gen> riffle:count 7; ex:note [ ex:label \"deep\" ].\n\
         <big.ttl> owl:imports <more.ttl>.\n",
    );
    let mut noise = 0;
    while big.len() <= riffle_core::relevance::WHOLE_FILE_BYTES {
        big.push_str(&format!("ex:s{noise} ex:p \"v{noise}\"; ex:q [ ex:r {noise} ].\n"));
        noise += 1;
    }
    std::fs::write(folder.join("big.ttl"), big).unwrap();
    std::fs::write(
        folder.join("more.ttl"),
        "@prefix riffle: <https://w3id.org/riffle#>.\n<count> a riffle:Counter; riffle:input <c>.\n",
    )
    .unwrap();

    let resolution = support::resolve_here(&folder.join("pipeline.ttl"));
    assert!(resolution.problems.is_empty(), "{}", riffle_core::problem::report(&resolution.problems));
    let base = riffle_core::fileurl::folder_of(&folder.join("pipeline.ttl"));
    let ids: Vec<&str> = resolution.plan.processors.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [format!("{base}count"), format!("{base}gen")]);
    assert_eq!(resolution.plan.processor(&format!("{base}gen")).unwrap().arguments["count"], json!(7));
    let notes: Vec<String> =
        resolution.notices.iter().map(|n| n.to_string().lines().next().unwrap().to_owned()).collect();
    assert_eq!(
        notes,
        [format!(
            "note[unconnected-statements]: {} of the {} statements in big.ttl are not connected to the pipeline, so they were not loaded",
            noise * 3,
            noise * 3 + 4
        )]
    );
    let ask = |query: &str| {
        let prepared = riffle_core::query::parse(query, "test", None).unwrap();
        match prepared.on_store(&resolution.loaded.store).execute() {
            Ok(oxigraph::sparql::QueryResults::Boolean(b)) => b,
            _ => panic!("{query} is not an ASK query that runs"),
        }
    };
    assert!(ask(&format!("ASK {{ <{base}gen> <http://example.org/note> [ <http://example.org/label> \"deep\" ] }}")));
    assert!(!ask("ASK { <http://example.org/s0> ?p ?o }"));
    assert!(!ask("ASK { ?s <http://example.org/r> 0 }"));
    std::fs::remove_dir_all(&folder).unwrap();
}
