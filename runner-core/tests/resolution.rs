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
    // <gen> is assigned explicitly to rdfc:NodeRunner, <sink> automatically: both land in one
    // instance of Riffle's runner, and the imported "npx js-runner" command is not used.
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
