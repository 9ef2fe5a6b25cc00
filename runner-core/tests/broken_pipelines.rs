//! Every folder under tests/broken holds a pipeline that must be refused with exactly the report
//! in its expected.txt. None may panic.

mod support;

use riffle_core::problem::report;
use std::path::Path;

#[test]
fn every_broken_pipeline_gets_its_exact_report() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut cases: Vec<_> =
        std::fs::read_dir(&folder).unwrap().filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus must hold at least 30 broken pipelines, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let pipeline = ["pipeline.ttl", "pipeline.jsonld"]
            .iter()
            .map(|f| case.join(f))
            .find(|p| p.exists())
            .expect("each case has a pipeline file");
        let resolution = support::resolve_here(&pipeline);
        let expected_file = case.join("expected.txt");
        let actual =
            if resolution.problems.is_empty() { "no problems\n".to_string() } else { report(&resolution.problems) };
        if support::blessing() {
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "== {}\n-- expected:\n{expected}-- actual:\n{actual}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
