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
    assert!(
        cases.len() >= 60,
        "the committed corpus must hold at least 60 broken pipelines ({} more are generated), found {}",
        generated::CASES,
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let pipeline = ["pipeline.ttl", "pipeline.jsonld"]
            .iter()
            .map(|f| case.join(f))
            .find(|p| p.symlink_metadata().is_ok())
            .expect("each case has a pipeline file");
        let resolution = support::resolve_here(&pipeline);
        let expected_file = case.join("expected.txt");
        let mut actual =
            if resolution.problems.is_empty() { "no problems\n".to_string() } else { report(&resolution.problems) };
        // Warnings and notes too (a channel nobody reads is run, with a warning).
        for notice in &resolution.notices {
            actual.push_str(&format!("\n{notice}\n"));
        }
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

/// Pipelines too big to commit, or that git cannot hold (symbolic link loops), written at test
/// time. Each must get its exact report (the temporary folder shown as `$TMP`) without panicking,
/// overflowing the stack or hanging.
mod generated {
    use super::support;
    use riffle_core::problem::report;
    use std::path::{Path, PathBuf};
    use std::sync::mpsc;
    use std::time::Duration;

    /// The number of generated cases below; with the committed ones the corpus holds 60+.
    pub const CASES: usize = 11;

    const PREFIXES: &str = "@prefix rdfc: <https://w3id.org/rdf-connect#>.
@prefix owl: <http://www.w3.org/2002/07/owl#>.
@prefix ex: <http://example.org/>.
<> owl:imports <common.ttl>.
";

    /// A fresh folder holding a copy of the corpus's common.ttl and its stand-in implementation files.
    fn folder() -> PathBuf {
        let folder = std::env::temp_dir().join(support::unique_tag());
        std::fs::create_dir_all(&folder).unwrap();
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
        // common.ttl and the implementation files it names, which validation checks exist.
        for file in ["common.ttl", "gen.js", "sink.js", "upper.jar", "conn.js"] {
            std::fs::copy(corpus.join(file), folder.join(file)).unwrap();
        }
        folder
    }

    /// Resolves on a thread with the default test stack (2 MiB, smaller than the riffle binary's
    /// main thread), so that recursion on the input's depth shows up here first. A panic or a stack
    /// overflow fails the test; so does a resolution still running after two minutes.
    fn report_for(folder: &Path, file: &str) -> String {
        let path = folder.join(file);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let resolution = support::resolve_here(&path);
            let text =
                if resolution.problems.is_empty() { "no problems\n".to_string() } else { report(&resolution.problems) };
            let _ = sender.send((text, resolution.plan));
        });
        let (text, _plan) = receiver
            .recv_timeout(Duration::from_secs(120))
            .expect("resolution finishes within two minutes without panicking");
        let text = text.replace(&folder.display().to_string(), "$TMP");
        std::fs::remove_dir_all(folder).unwrap();
        text
    }

    fn write(folder: &Path, file: &str, text: &str) {
        std::fs::write(folder.join(file), text).unwrap();
    }

    #[test]
    fn ten_thousand_nested_blank_nodes_are_refused_at_the_nesting_limit() {
        let folder = folder();
        let depth = 10_000;
        let mut text = String::from(PREFIXES);
        text.push_str("<gen> a ex:Gen; ex:count 1; ex:writer <c>; ex:config ");
        for i in 0..depth {
            text.push_str(&format!("[ ex:name \"level {i}\"; ex:inner "));
        }
        text.push_str("[ ex:name \"bottom\" ]");
        text.push_str(&" ]".repeat(depth));
        text.push_str(".\n<c> a rdfc:Reader, rdfc:Writer.\n<sink> a ex:Sink; ex:reader <c>.\n");
        write(&folder, "pipeline.ttl", &text);
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[nesting-too-deep]: argument \"config\" of <gen> nests more than 32 levels deep
  --> pipeline.ttl
  subject: <gen>
  predicate: ex:inner
  help: flatten the nested values: Riffle accepts at most 32 levels

1 problem found; nothing was started.
"
        );
    }

    #[test]
    fn ten_thousand_nested_lists_are_refused_as_not_literals() {
        let folder = folder();
        let depth = 10_000;
        let text = format!(
            "{PREFIXES}<gen> a ex:Gen; ex:count 1; ex:writer <c>; ex:label {}\"deep\"{}.
<c> a rdfc:Reader, rdfc:Writer.
<sink> a ex:Sink; ex:reader <c>.
",
            "( ".repeat(depth),
            " )".repeat(depth)
        );
        write(&folder, "pipeline.ttl", &text);
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[expected-literal]: argument \"labels\" of <gen> is [], but a literal of type xsd:string is expected
  --> pipeline.ttl
  subject: <gen>
  predicate: ex:label
  help: write a literal value instead of a resource

1 problem found; nothing was started.
"
        );
    }

    #[test]
    fn ten_thousand_nested_json_ld_objects_are_refused_at_the_nesting_limit() {
        let folder = folder();
        let depth = 10_000;
        let context = r#""@context": { "ex": "http://example.org/", "rdfc": "https://w3id.org/rdf-connect#",
            "owl": "http://www.w3.org/2002/07/owl#", "@base": "" }"#;
        let mut config = String::from(r#"{ "ex:name": "bottom" }"#);
        for i in 0..depth {
            config = format!(r#"{{ "ex:name": "level {i}", "ex:inner": {config} }}"#);
        }
        let text = format!(
            r#"{{ {context}, "@graph": [
  {{ "@id": "", "owl:imports": {{ "@id": "common.ttl" }} }},
  {{ "@id": "gen", "@type": "ex:Gen", "ex:count": 1, "ex:writer": {{ "@id": "c" }}, "ex:config": {config} }},
  {{ "@id": "c", "@type": ["rdfc:Reader", "rdfc:Writer"] }},
  {{ "@id": "sink", "@type": "ex:Sink", "ex:reader": {{ "@id": "c" }} }}
] }}"#
        );
        write(&folder, "pipeline.jsonld", &text);
        // The outer object, "@graph", the processor, then config levels: the 98th config level
        // (counted from the outside) is the 101st bracket.
        let column = text.lines().nth(3).unwrap().find(r#"{ "ex:name": "level 9902""#).unwrap() + 1;
        assert_eq!(
            report_for(&folder, "pipeline.jsonld"),
            format!(
                "error[json-too-deep]: pipeline.jsonld nests JSON objects and arrays more than 100 levels deep
  --> pipeline.jsonld:4:{column}
  help: flatten the JSON-LD: give nested objects an \"@id\" and describe them at the top level of \"@graph\" (at most 100 levels)

1 problem found; nothing was started.
"
            )
        );
    }

    #[test]
    fn a_hundred_megabyte_literal_loads_and_is_shown_shortened() {
        let folder = folder();
        let mut text = String::with_capacity(100 * 1024 * 1024 + 1024);
        text.push_str(PREFIXES);
        text.push_str("<gen> a ex:Gen; ex:writer <c>; ex:count \"");
        text.push_str(&"7".repeat(100 * 1024 * 1024));
        text.push_str("\".\n<c> a rdfc:Reader, rdfc:Writer.\n<sink> a ex:Sink; ex:reader <c>.\n");
        write(&folder, "pipeline.ttl", &text);
        drop(text);
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            format!(
                "error[out-of-range]: argument \"count\" of <gen> is \"{}…\", which is out of range for xsd:integer
  --> pipeline.ttl
  subject: <gen>
  predicate: ex:count
  help: write a number within the range of xsd:integer (-9223372036854775808 to 18446744073709551615 here)

1 problem found; nothing was started.
",
                "7".repeat(60)
            )
        );
    }

    #[test]
    fn a_hundred_thousand_item_list_is_passed_whole_and_in_order() {
        let folder = folder();
        let items = 100_000;
        let list: Vec<String> = (0..items).map(|i| format!("\"item {i}\"")).collect();
        let text = format!(
            "{PREFIXES}<gen> a ex:Gen; ex:count 1; ex:writer <c>; ex:label ( {} ).
<c> a rdfc:Reader, rdfc:Writer.
<sink> a ex:Sink; ex:reader <c>.
",
            list.join(" ")
        );
        write(&folder, "pipeline.ttl", &text);
        let path = folder.join("pipeline.ttl");
        let resolution = support::resolve_here(&path);
        std::fs::remove_dir_all(&folder).unwrap();
        assert_eq!(resolution.problems, vec![], "{}", report(&resolution.problems));
        let gen = resolution.plan.processors.iter().find(|p| p.id.ends_with("/gen")).expect("gen is planned");
        let labels: Vec<&str> =
            gen.arguments["labels"].as_array().expect("labels is an array").iter().filter_map(|v| v.as_str()).collect();
        let expected: Vec<String> = (0..items).map(|i| format!("item {i}")).collect();
        assert_eq!(labels, expected);
    }

    #[test]
    fn a_million_character_iri_is_shown_shortened() {
        let folder = folder();
        let long = "y".repeat(1_000_000);
        let text = format!(
            "{PREFIXES}<gen> a ex:Gen; ex:count 1; ex:writer <c>.
<c> a rdfc:Reader, rdfc:Writer.
<sink-{long}> a ex:Sink; ex:reader <c>, <d-{long}>.
"
        );
        write(&folder, "pipeline.ttl", &text);
        let sink = format!("<sink-{}…(999855 characters)…{}>", "y".repeat(95), "y".repeat(50));
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            format!(
                "error[too-many-values]: argument \"reader\" of {sink} takes at most 1 value(s) but has 2
  --> pipeline.ttl
  subject: {sink}
  predicate: ex:reader
  help: keep only one value, or raise the shape's sh:maxCount

1 problem found; nothing was started.
"
            )
        );
    }

    #[test]
    fn a_chain_of_three_thousand_imports_is_read_to_its_end() {
        let folder = folder();
        let files = 3_000;
        write(
            &folder,
            "pipeline.ttl",
            &format!("{PREFIXES}<> owl:imports <chain-0.ttl>.\n<gen> a ex:Gen; ex:count 1; ex:writer <c>.\n"),
        );
        for i in 0..files - 1 {
            write(
                &folder,
                &format!("chain-{i}.ttl"),
                &format!("<> <http://www.w3.org/2002/07/owl#imports> <chain-{}.ttl>.\n", i + 1),
            );
        }
        // The last file lacks its final dot: the report proves it was reached.
        write(&folder, &format!("chain-{}.ttl", files - 1), "<c> a <https://w3id.org/rdf-connect#Reader>\n");
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[syntax]: syntax error: Unexpected end
  --> chain-2999.ttl:2:1
  help: fix the syntax at the position shown

1 problem found; nothing was started.
"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_pipeline_that_is_a_symbolic_link_loop_is_refused() {
        let folder = folder();
        std::os::unix::fs::symlink("pipeline.ttl", folder.join("pipeline.ttl")).unwrap();
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[broken-link]: cannot read pipeline.ttl: it is a symbolic link that leads to no file (Too many levels of symbolic links (os error 40))
  help: point the link pipeline.ttl at the RDF file (`ls -l` shows where it leads), or use the file itself

1 problem found; nothing was started.
"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_import_through_a_loop_of_two_links_is_refused() {
        let folder = folder();
        write(&folder, "pipeline.ttl", &format!("{PREFIXES}<> owl:imports <a.ttl>.\n"));
        std::os::unix::fs::symlink("b.ttl", folder.join("a.ttl")).unwrap();
        std::os::unix::fs::symlink("a.ttl", folder.join("b.ttl")).unwrap();
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[broken-link]: cannot read a.ttl: it is a symbolic link that leads to no file (Too many levels of symbolic links (os error 40))
  --> pipeline.ttl
  subject: <a.ttl>
  predicate: owl:imports
  help: point the link a.ttl at the RDF file (`ls -l` shows where it leads), or use the file itself

1 problem found; nothing was started.
"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_import_of_a_dangling_link_is_refused() {
        let folder = folder();
        write(&folder, "pipeline.ttl", &format!("{PREFIXES}<> owl:imports <shapes.ttl>.\n"));
        std::os::unix::fs::symlink("moved/shapes.ttl", folder.join("shapes.ttl")).unwrap();
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[broken-link]: cannot read shapes.ttl: it is a symbolic link that leads to no file (No such file or directory (os error 2))
  --> pipeline.ttl
  subject: <shapes.ttl>
  predicate: owl:imports
  help: point the link shapes.ttl at the RDF file (`ls -l` shows where it leads), or use the file itself

1 problem found; nothing was started.
"
        );
    }

    /// A named pipe or /dev/zero would block the loader or grow it without end: neither is read.
    #[cfg(unix)]
    #[test]
    fn imports_of_a_fifo_and_of_a_link_to_dev_zero_are_refused_unread() {
        let folder = folder();
        write(&folder, "pipeline.ttl", &format!("{PREFIXES}<> owl:imports <pipe.ttl>, <zero.ttl>.\n"));
        let made = std::process::Command::new("mkfifo").arg(folder.join("pipe.ttl")).status().expect("mkfifo runs");
        assert!(made.success());
        std::os::unix::fs::symlink("/dev/zero", folder.join("zero.ttl")).unwrap();
        assert_eq!(
            report_for(&folder, "pipeline.ttl"),
            "error[not-a-regular-file]: cannot read pipe.ttl: it is a named pipe (FIFO), not a regular file
  --> pipeline.ttl
  subject: <pipe.ttl>
  predicate: owl:imports
  help: import an RDF file; pipes, devices and sockets are not read, since they may never end

error[not-a-regular-file]: cannot read zero.ttl: it is a device, not a regular file
  --> pipeline.ttl
  subject: <zero.ttl>
  predicate: owl:imports
  help: import an RDF file; pipes, devices and sockets are not read, since they may never end

2 problems found; nothing was started.
"
        );
    }
}
