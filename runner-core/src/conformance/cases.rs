//! The kit's cases (`docs/adding-a-runner.md`, section 9): each builds a pipeline around the runner under
//! test, runs it, and checks exact outputs, counts and error text. A case returns what it saw when it
//! passes, and the reason when it fails.

use super::execute::{execute, Ran};
use super::sketch::Sketch;
use super::target::Target;
use crate::plan::Transport;
use crate::run::report::grouped;
use crate::run::Outcome;
use std::path::{Path, PathBuf};

pub struct Case {
    pub name: &'static str,
    check: fn(&Bench) -> Result<String, String>,
}

/// Where a case runs: its folder, the runner under test and the transport of every channel.
pub struct Bench<'a> {
    pub dir: PathBuf,
    pub target: &'a Target,
    pub transport: Transport,
}

impl Case {
    pub fn check(&self, bench: &Bench) -> Result<String, String> {
        (self.check)(bench)
    }
}

pub const CASES: &[Case] = &[
    Case { name: "arguments", check: arguments },
    Case { name: "echo-text", check: echo_text },
    Case { name: "echo-bytes", check: echo_bytes },
    Case { name: "ordered", check: ordered },
    Case { name: "fan-in", check: fan_in },
    Case { name: "fan-out", check: fan_out },
    Case { name: "close-empty", check: close_empty },
    Case { name: "large-message", check: large_message },
    Case { name: "backpressure", check: backpressure },
    Case { name: "wrong-secret", check: wrong_secret },
    Case { name: "error-init", check: |b| error_in(b, "init") },
    Case { name: "error-transform", check: |b| error_in(b, "transform") },
    Case { name: "error-after-close", check: |b| error_in(b, "close") },
    Case { name: "error-produce", check: |b| error_in(b, "produce") },
    Case { name: "crash", check: crash },
];

impl Bench<'_> {
    fn run(&self, sketch: &Sketch) -> Result<Ran, String> {
        self.run_watching(sketch, None)
    }

    fn run_watching(&self, sketch: &Sketch, intrude: Option<&str>) -> Result<Ran, String> {
        let ran = execute(&self.dir, sketch, self.target, self.transport, intrude)?;
        if let Some(pid) = ran.pids.iter().find(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            return Err(format!("runner process {pid} is still alive after the run"));
        }
        Ok(ran)
    }

    fn write(&self, name: &str, contents: &[u8]) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.dir.join(name);
        std::fs::read(&path).map_err(|e| format!("{name} was not written: {e}"))
    }
}

/// The run must have finished; else its error, with the last lines of output.
fn finished(ran: &Ran) -> Result<(), String> {
    match &ran.outcome {
        Outcome::Finished => Ok(()),
        Outcome::Failed(why) => Err(format!("the run failed: {why}{}", ran.tail())),
        Outcome::Interrupted(_) => Err("the run was interrupted".into()),
    }
}

fn ended(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Finished => "finished",
        Outcome::Failed(_) => "failed",
        Outcome::Interrupted(_) => "was interrupted",
    }
}

/// `(messages, bytes)` counted at the ends of `channel` in `role` must be `expected`.
fn counts(ran: &Ran, channel: &str, role: &str, processor: Option<&str>, expected: (u64, u64)) -> Result<(), String> {
    let got = ran.counted(channel, role, processor);
    if got == expected {
        return Ok(());
    }
    let whose = processor.map(|p| format!(" of <{p}>")).unwrap_or_default();
    Err(format!(
        "the {role}s{whose} of <{channel}> counted {} messages / {} bytes, expected {} / {}",
        grouped(got.0),
        grouped(got.1),
        grouped(expected.0),
        grouped(expected.1)
    ))
}

/// Text files must hold the same lines; the first difference is named.
fn same_lines(file: &str, got: &[u8], expected: &str) -> Result<(), String> {
    let got = String::from_utf8_lossy(got);
    let (got_lines, expected_lines): (Vec<&str>, Vec<&str>) = (got.lines().collect(), expected.lines().collect());
    if let Some(at) = got_lines.iter().zip(&expected_lines).position(|(g, e)| g != e) {
        return Err(format!(
            "{file}, line {}: got {:?}, expected {:?}",
            grouped(at as u64 + 1),
            shorten(got_lines[at]),
            shorten(expected_lines[at])
        ));
    }
    if got_lines.len() != expected_lines.len() || got.len() != expected.len() {
        return Err(format!(
            "{file} has {} lines ({} bytes), expected {} ({} bytes)",
            grouped(got_lines.len() as u64),
            grouped(got.len() as u64),
            grouped(expected_lines.len() as u64),
            grouped(expected.len() as u64)
        ));
    }
    Ok(())
}

fn same_bytes(file: &str, got: &[u8], expected: &[u8]) -> Result<(), String> {
    if got.len() != expected.len() {
        return Err(format!(
            "{file} has {} bytes, expected {}",
            grouped(got.len() as u64),
            grouped(expected.len() as u64)
        ));
    }
    match got.iter().zip(expected).position(|(g, e)| g != e) {
        Some(at) => Err(format!("{file}: byte {} is {}, expected {}", grouped(at as u64), got[at], expected[at])),
        None => Ok(()),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        text.chars().take(60).collect::<String>() + "..."
    }
}

fn numbered(prefix: &str, count: usize) -> String {
    (0..count).map(|i| format!("{prefix}{i}\n")).collect()
}

/// What riffle:Generator writes as bytes: 0, 1, ..., 255, 0, ... in every message.
fn generated_bytes(size: usize, count: usize) -> Vec<u8> {
    let one: Vec<u8> = (0..size).map(|i| (i % 256) as u8).collect();
    one.repeat(count)
}

/// Source file -> tested Echo -> output file, the shape of most cases.
fn echo_lines(bench: &Bench, input: &str) -> Result<Ran, String> {
    bench.write("input.txt", input.as_bytes())?;
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .channel("out")
            .peer("source", r#"riffle:FileReader; riffle:file "input.txt"; riffle:lines true; riffle:output <in>"#)
            .tested("echo", "rcf:Echo; rcf:reader <in>; rcf:writer <out>")
            .peer("sink", r#"riffle:FileWriter; riffle:file "output.txt"; riffle:input <out>"#),
    )?;
    finished(&ran)?;
    same_lines("output.txt", &bench.read("output.txt")?, input)?;
    Ok(ran)
}

fn arguments(bench: &Bench) -> Result<String, String> {
    let ran = bench.run(
        &Sketch::new()
            .channel("out")
            .tested(
                "arguments",
                r#"rcf:Arguments; rcf:writer <out>;
  rcf:text "h\u00e9llo \"w\u00f6rld\"\n\ttab \u2713";
  rcf:integer 1234567890123;
  rcf:negative "-42"^^xsd:int;
  rcf:double 2.5E-3;
  rcf:decimal 12.75;
  rcf:flag false;
  rcf:iri <http://example.org/a?b=1&c=%20#frag>;
  rcf:strings ("first" "second" "third");
  rcf:numbers (3 1 2);
  rcf:nested [ a rcf:Nested; rcf:name "inner"; rcf:count 3; rcf:tags ("x" "y") ];
  rcf:nestedList ( [ a rcf:Nested; rcf:name "one" ] [ a rcf:Nested; rcf:name "two"; rcf:count 2 ] )"#,
            )
            .peer("sink", r#"riffle:FileWriter; riffle:file "arguments.json"; riffle:lines false; riffle:input <out>"#),
    )?;
    finished(&ran)?;
    let written = bench.read("arguments.json")?;
    let got: serde_json::Value = serde_json::from_slice(&written)
        .map_err(|e| format!("arguments.json is not JSON ({e}): {}", shorten(&String::from_utf8_lossy(&written))))?;
    let expected = serde_json::json!({
        "text": "h\u{e9}llo \"w\u{f6}rld\"\n\ttab \u{2713}",
        "integer": 1234567890123u64,
        "negative": -42,
        "double": 0.0025,
        "decimal": 12.75,
        "flag": false,
        "iri": "http://example.org/a?b=1&c=%20#frag",
        "strings": ["first", "second", "third"],
        "numbers": [3, 1, 2],
        "none": [],
        "fallback": "the default",
        "nested": { "name": "inner", "count": 3, "tags": ["x", "y"] },
        "nestedList": [{ "name": "one", "tags": [] }, { "name": "two", "count": 2, "tags": [] }],
    });
    let serde_json::Value::Object(expected) = expected else { unreachable!("a JSON object literal") };
    let serde_json::Value::Object(got) = got else {
        return Err(format!("arguments.json holds {}, not a JSON object", shorten(&String::from_utf8_lossy(&written))));
    };
    for (field, want) in &expected {
        match got.get(field) {
            None => return Err(format!("argument {field:?} is missing (expected {want})")),
            Some(value) if !same_json(value, want) => {
                return Err(format!("argument {field:?} arrived as {value}, expected {want}"))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = got.keys().find(|k| !expected.contains_key(*k)) {
        return Err(format!("argument {extra:?} arrived but was never given (is the writer echoed back?)"));
    }
    Ok(format!("{} arguments of every datatype and nesting arrived typed", expected.len()))
}

/// Equal JSON, where numbers compare by value (`0.0025` and `2.5e-3`), but an integer must stay one.
fn same_json(got: &serde_json::Value, want: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (got, want) {
        (Value::Number(g), Value::Number(w)) if w.is_f64() => g.as_f64() == w.as_f64(),
        (Value::Number(g), Value::Number(w)) => g.as_i64() == w.as_i64() && g.as_u64() == w.as_u64() && !g.is_f64(),
        (Value::Array(g), Value::Array(w)) => g.len() == w.len() && g.iter().zip(w).all(|(g, w)| same_json(g, w)),
        (Value::Object(g), Value::Object(w)) => {
            g.len() == w.len() && w.iter().all(|(k, w)| g.get(k).is_some_and(|g| same_json(g, w)))
        }
        _ => got == want,
    }
}

fn echo_text(bench: &Bench) -> Result<String, String> {
    let input: String =
        (0..1000).map(|i| format!("{i:04} h\u{e9}llo w\u{f6}rld \u{2713} {}\n", "x".repeat(i % 50))).collect();
    let ran = echo_lines(bench, &input)?;
    counts(&ran, "out", "reader", None, (1000, (input.len() - 1000) as u64))?;
    Ok("1,000 text messages came back byte for byte".into())
}

fn echo_bytes(bench: &Bench) -> Result<String, String> {
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .channel("out")
            .peer(
                "source",
                "riffle:Generator; riffle:count 100; riffle:size 1000; riffle:text false; riffle:output <in>",
            )
            .tested("echo", "rcf:Echo; rcf:reader <in>; rcf:writer <out>")
            .peer("sink", r#"riffle:FileWriter; riffle:file "output.bin"; riffle:lines false; riffle:input <out>"#),
    )?;
    finished(&ran)?;
    counts(&ran, "out", "reader", None, (100, 100_000))?;
    same_bytes("output.bin", &bench.read("output.bin")?, &generated_bytes(1000, 100))?;
    Ok("100 bytes messages of 1,000 bytes came back intact".into())
}

fn ordered(bench: &Bench) -> Result<String, String> {
    let input = numbered("message ", 100_000);
    let ran = echo_lines(bench, &input)?;
    let bytes = (input.len() - 100_000) as u64;
    counts(&ran, "in", "reader", Some("echo"), (100_000, bytes))?;
    counts(&ran, "out", "writer", Some("echo"), (100_000, bytes))?;
    Ok("100,000 messages, count and order exact".into())
}

fn fan_in(bench: &Bench) -> Result<String, String> {
    let (a, b) = (numbered("a ", 10_000), numbered("b ", 10_000));
    bench.write("a.txt", a.as_bytes())?;
    bench.write("b.txt", b.as_bytes())?;
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .channel("out")
            .peer("source-a", r#"riffle:FileReader; riffle:file "a.txt"; riffle:lines true; riffle:output <in>"#)
            .peer("source-b", r#"riffle:FileReader; riffle:file "b.txt"; riffle:lines true; riffle:output <in>"#)
            .tested("echo", "rcf:Echo; rcf:reader <in>; rcf:writer <out>")
            .peer("sink", r#"riffle:FileWriter; riffle:file "output.txt"; riffle:input <out>"#),
    )?;
    finished(&ran)?;
    let written = String::from_utf8_lossy(&bench.read("output.txt")?).into_owned();
    for (prefix, expected) in [("a ", &a), ("b ", &b)] {
        let only: String = written.lines().filter(|l| l.starts_with(prefix)).map(|l| format!("{l}\n")).collect();
        same_lines(&format!("output.txt (the lines of writer {})", prefix.trim()), only.as_bytes(), expected)?;
    }
    let total = written.lines().count();
    if total != 20_000 {
        return Err(format!("output.txt has {} lines, expected 20,000", grouped(total as u64)));
    }
    Ok("2 writers x 10,000 messages into one reader, order kept per writer".into())
}

fn fan_out(bench: &Bench) -> Result<String, String> {
    let input = numbered("fan ", 10_000);
    bench.write("input.txt", input.as_bytes())?;
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .channel("out-a")
            .channel("out-b")
            .peer("source", r#"riffle:FileReader; riffle:file "input.txt"; riffle:lines true; riffle:output <in>"#)
            .tested("echo-a", "rcf:Echo; rcf:reader <in>; rcf:writer <out-a>")
            .tested("echo-b", "rcf:Echo; rcf:reader <in>; rcf:writer <out-b>")
            .peer("sink-1", r#"riffle:FileWriter; riffle:file "output-1.txt"; riffle:input <out-a>"#)
            .peer("sink-2", r#"riffle:FileWriter; riffle:file "output-2.txt"; riffle:input <out-a>"#)
            .peer("sink-3", r#"riffle:FileWriter; riffle:file "output-3.txt"; riffle:input <out-b>"#),
    )?;
    finished(&ran)?;
    for file in ["output-1.txt", "output-2.txt", "output-3.txt"] {
        same_lines(file, &bench.read(file)?, &input)?;
    }
    let bytes = (input.len() - 10_000) as u64;
    for echo in ["echo-a", "echo-b"] {
        counts(&ran, "in", "reader", Some(echo), (10_000, bytes))?;
    }
    Ok("one Rust writer to 2 tested readers, one tested writer to 2 Rust readers: 10,000 each, in order".into())
}

fn close_empty(bench: &Bench) -> Result<String, String> {
    let ran = echo_lines(bench, "")?;
    counts(&ran, "out", "writer", Some("echo"), (0, 0))?;
    Ok("an empty channel ended the reader, and the Echo closed its writer".into())
}

fn large_message(bench: &Bench) -> Result<String, String> {
    const SIZE: usize = 64 << 20;
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .channel("out")
            .peer(
                "source",
                &format!("riffle:Generator; riffle:count 1; riffle:size {SIZE}; riffle:text false; riffle:output <in>"),
            )
            .tested("echo", "rcf:Echo; rcf:reader <in>; rcf:writer <out>")
            .peer("sink", r#"riffle:FileWriter; riffle:file "output.bin"; riffle:lines false; riffle:input <out>"#),
    )?;
    finished(&ran)?;
    counts(&ran, "out", "reader", None, (1, SIZE as u64))?;
    same_bytes("output.bin", &bench.read("output.bin")?, &generated_bytes(SIZE, 1))?;
    Ok("one 64 MiB message came back intact".into())
}

/// A fast Rust writer into a tested reader that waits `delay` ms before each group of `every` messages.
fn slow_sketch(count: u64, delay: u64, every: u64) -> Sketch {
    Sketch::new()
        .channel("in")
        .channel("out")
        .peer(
            "source",
            &format!(
                "riffle:Generator; riffle:count {count}; riffle:size 65536; riffle:text false; riffle:output <in>"
            ),
        )
        .tested("slow", &format!("rcf:Slow; rcf:delayMs {delay}; rcf:every {every}; rcf:reader <in>; rcf:writer <out>"))
        .peer("sink", "riffle:Counter; riffle:input <out>")
}

fn backpressure(bench: &Bench) -> Result<String, String> {
    const COUNT: u64 = 1000;
    // Pairs, so that `every` is exercised too: 4 ms before each 2 messages.
    const DELAY_MS: u64 = 4;
    const EVERY: u64 = 2;
    let ran = bench.run(&slow_sketch(COUNT, DELAY_MS, EVERY))?;
    finished(&ran)?;
    counts(&ran, "out", "reader", None, (COUNT, COUNT * 65536))?;
    // The reader needs at least COUNT / EVERY x DELAY_MS; a runner that read everything into memory at once
    // would let the writer finish at once. Buffers (sockets, queues) may absorb a third of the stream.
    let least = COUNT / EVERY * DELAY_MS * 1000;
    let blocked = ran.blocked_us("in").ok_or("the Rust writer reported no blocked time")?;
    if blocked < least / 4 {
        return Err(format!(
            "the writer waited only {} ms for room while the slow reader needed at least {} ms: the tested runner \
buffers without bound instead of pausing its socket",
            blocked / 1000,
            least / 1000
        ));
    }
    Ok(format!(
        "1,000 messages of 64 KiB; the writer was held back {} ms of the reader's {} ms at least",
        blocked / 1000,
        least / 1000
    ))
}

fn wrong_secret(bench: &Bench) -> Result<String, String> {
    const COUNT: u64 = 400;
    let ran = bench.run_watching(&slow_sketch(COUNT, 2, 1), Some("slow"))?;
    let knocked = ran.intrusion.clone().unwrap_or_else(|| Err("no connection was tried".into()))?;
    finished(&ran)?;
    counts(&ran, "out", "reader", None, (COUNT, COUNT * 65536))?;
    Ok(format!("{knocked}; all 400 messages still arrived"))
}

fn error_in(bench: &Bench, phase: &str) -> Result<String, String> {
    bench.write("input.txt", b"one\ntwo\nthree\n")?;
    let message = format!("conformance: deliberate failure in {phase}");
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .peer("source", r#"riffle:FileReader; riffle:file "input.txt"; riffle:lines true; riffle:output <in>"#)
            .tested("fail", &format!(r#"rcf:Fail; rcf:phase "{phase}"; rcf:message "{message}"; rcf:reader <in>"#)),
    )?;
    let Outcome::Failed(why) = &ran.outcome else {
        return Err(format!("the run {}; a processor error must fail it", ended(&ran.outcome)));
    };
    // A throw once the reader has closed is still a failure of transform; a runner that took the end of
    // every channel for the end of the processor would let the run succeed.
    let reported = if phase == "close" { "transform" } else { phase };
    let expected = format!("processor {} (runner {}) failed in {reported}: ", ran.shown("fail"), ran.runner_of("fail"));
    if !why.starts_with(&expected) || !why.contains(&message) {
        return Err(format!(
            "the error reads {:?}; expected it to start with {expected:?} and hold {message:?}",
            shorten_error(why)
        ));
    }
    if phase == "close" {
        // The runner's last stats, sent before its bye, show the whole input was read before the throw.
        counts(&ran, "in", "reader", Some("fail"), (3, 11))?;
    }
    Ok(format!("stopped the run: {}", shorten_error(why)))
}

fn crash(bench: &Bench) -> Result<String, String> {
    bench.write("input.txt", numbered("crash ", 10).as_bytes())?;
    let ran = bench.run(
        &Sketch::new()
            .channel("in")
            .peer("source", r#"riffle:FileReader; riffle:file "input.txt"; riffle:lines true; riffle:output <in>"#)
            .tested("crash", "rcf:Crash; rcf:reader <in>"),
    )?;
    let Outcome::Failed(why) = &ran.outcome else {
        return Err(format!("the run {}; a runner that died must fail it", ended(&ran.outcome)));
    };
    let runner = ran.runner_of("crash");
    let named = why.starts_with(&format!("runner {runner} "));
    if !named || !(why.contains("exited with") || why.contains("lost its control connection")) {
        return Err(format!(
            "the error reads {:?}; expected it to name runner {runner} and how it died",
            shorten_error(why)
        ));
    }
    Ok(format!("detected, no process left: {}", shorten_error(why)))
}

/// The first line of an error, which says what and where; the stack follows it.
fn shorten_error(why: &str) -> String {
    let first = why.lines().next().unwrap_or_default();
    if first.chars().count() <= 200 {
        first.to_string()
    } else {
        first.chars().take(200).collect::<String>() + "..."
    }
}
