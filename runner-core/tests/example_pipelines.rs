//! Every example under pipelines/ resolves without problems into the plan in its
//! plan.snapshot.json (paths made relative to the repository, so the snapshot holds anywhere).

mod support;

use serde_json::{json, Value};
use std::path::Path;

fn normalized(plan: &riffle_core::plan::Plan) -> Value {
    let root = support::repo_root();
    let text = serde_json::to_string(plan).unwrap();
    let url_root = riffle_core::fileurl::from_path(&root);
    let text = text.replace(&url_root, "file://$ROOT").replace(&root.display().to_string(), "$ROOT");
    serde_json::from_str(&text).unwrap()
}

fn plan_of(name: &str) -> riffle_core::plan::Plan {
    let path = support::repo_root().join("pipelines").join(name).join("pipeline.ttl");
    let resolution = support::resolve_here(&path);
    assert!(resolution.problems.is_empty(), "{name}: {}", riffle_core::problem::report(&resolution.problems));
    resolution.plan
}

#[test]
fn every_example_matches_its_plan_snapshot() {
    let folder = support::repo_root().join("pipelines");
    let mut examples: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("pipeline.ttl").exists())
        .collect();
    examples.sort();
    assert!(examples.len() >= 3, "expected at least three example pipelines");
    for example in examples {
        let name = example.file_name().unwrap().to_string_lossy().to_string();
        let actual = normalized(&plan_of(&name));
        let snapshot = example.join("plan.snapshot.json");
        if support::blessing() {
            std::fs::write(&snapshot, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
            continue;
        }
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(&snapshot)
                .unwrap_or_else(|_| panic!("{name} has no plan.snapshot.json; run with RIFFLE_BLESS=1")),
        )
        .unwrap();
        assert_eq!(actual, expected, "{name}: the plan differs from plan.snapshot.json");
    }
}

#[test]
fn rdfc_arguments_arrive_typed_with_defaults_and_lists() {
    let plan = plan_of("rdfc-echo");
    let sender = plan.processors.iter().find(|p| p.id.ends_with("/sender")).unwrap();
    let root = riffle_core::fileurl::from_path(&support::repo_root());
    assert_eq!(
        Value::Object(sender.arguments.clone()),
        json!({
            "writer": { "@writer": format!("{root}/pipelines/rdfc-echo/messages") },
            "messages": ["hello", "world"],
            "repeat": 3
        })
    );
    assert_eq!(sender.implementation["class"], json!("Send"));
    assert_eq!(sender.implementation["file"], json!(format!("{root}/pipelines/rdfc-echo/processors.js")));
    // rdfc:NodeRunner resolves to Riffle's JavaScript runner without importing its definition.
    assert_eq!(plan.runners.len(), 1);
    assert_eq!(plan.runners[0].runner, "https://w3id.org/riffle#JsRunner");
    assert_eq!(plan.runners[0].processors.len(), 3);
    assert!(plan.channels.iter().all(|c| c.transport == riffle_core::plan::Transport::Memory && !c.crosses_runners));
}

#[test]
fn connector_architecture_resolves_mapping_env_and_channel_ends() {
    let plan = plan_of("conn-substitute");
    let substitute = plan.processors.iter().find(|p| p.id.ends_with("/substitute")).unwrap();
    assert_eq!(substitute.arguments["regexp"], json!(false));
    assert_eq!(substitute.arguments["source"], json!("world"));
    let positions: Vec<(String, i64)> = substitute.implementation["mapping"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["parameter"].as_str().unwrap().to_string(), p["position"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        positions,
        [("input", 0), ("output", 1), ("source", 2), ("replace", 3), ("regexp", 4)].map(|(n, i)| (n.to_string(), i))
    );
    // The environment variable is unset in the tests, so its rdfl:envDefault applies.
    let read = plan.processors.iter().find(|p| p.id.ends_with("/read")).unwrap();
    assert_eq!(read.arguments["path"], json!("input.txt"));
    // A connector-architecture channel is named by its reader end, and both ends map onto it.
    let lines = plan.channels.iter().find(|c| c.id.ends_with("/lines/reader")).unwrap();
    assert_eq!(lines.writers[0].processor, read.id);
    assert_eq!(read.arguments["output"], json!({ "@writer": lines.id }));
    assert_eq!(lines.readers[0].processor, substitute.id);
}

#[test]
fn environment_variables_override_their_default() {
    let path = support::repo_root().join("pipelines/conn-substitute/pipeline.ttl");
    let env = |key: &str| (key == "RIFFLE_EXAMPLE_INPUT").then(|| "other.txt".to_string());
    let options = riffle_core::resolve::Options {
        env: &env,
        find_program: &support::fake_program,
        check_runner: &support::fake_check,
    };
    let resolution = riffle_core::resolve::resolve(&path, &options);
    let read = resolution.plan.processors.iter().find(|p| p.id.ends_with("/read")).unwrap();
    assert_eq!(read.arguments["path"], json!("other.txt"));
}

#[test]
fn polyglot_channels_cross_runners_on_the_transport_asked_for() {
    let plan = plan_of("polyglot");
    let ids: Vec<&str> = plan.runners.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["java", "javascript", "rust"]);
    let transports: Vec<(&str, &str, bool)> = plan
        .channels
        .iter()
        .map(|c| (Path::new(&c.id).file_name().unwrap().to_str().unwrap(), c.transport.as_str(), c.crosses_runners))
        .collect();
    assert_eq!(transports, [("shouted", "websocket", true), ("words", "tcp", true)]);
}
