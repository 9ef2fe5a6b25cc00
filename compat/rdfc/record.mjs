#!/usr/bin/env node
// Records RDF-Connect 2 cases: `node compat/rdfc/record.mjs <case-dir>...` (default: every case under
// compat/rdfc/cases). It runs the original runtime through the shared harness (compat/harness.mjs) and
// writes expected/ as its `record` does, with one step more that the harness does not do (yet) for
// RDF-Connect 2: the orchestrator prints every log line as `[<entity>, <entity>] <level>: <message>`
// (processor lines `[:sender, rdfc:NodeRunner] info: ...`, channel lines under rdfc:logLevel
// `[:1, channel] info: ...`, its own `[Orchestrator]`, `[start]`, `[rdfc:NodeRunner, cli]`,
// `[rdfc:NodeRunner, CommandInstantiator]`, ...). Here its own lines are dropped and a processor's or
// channel's line becomes what Riffle prints after `[<name>] `: the message for info, `warning: ` and
// `error: ` before it for warn and error, nothing for debug (neither runtime shows debug by default).
// A runner's standard error, which the orchestrator logs as `[<runner>, CommandInstantiator] error: ...`,
// is what its processors wrote there: `warning: ...`, as Riffle prints a runner's stderr.
// Lines without a label that follow a kept line (a message of several lines) are kept; other unlabelled
// lines (the orchestrator's deprecation notice) are its own. Then the case's keep/drop apply.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadCase, runCase, COMPAT, RDFC_REF } from "../harness.mjs";

const LABELLED = /^\[([^\]]*)\] (\w+): ?(.*)$/;
const OWN_LAST = /^(cli|\w*Instantiator|Orchestrator|start|provenance)$/;

/** The processors' and channels' lines of an RDF-Connect 2 run, as Riffle would print them (unprefixed). */
export function rdfcLines(lines) {
  const out = [];
  let keeping = false;
  for (const line of lines) {
    const m = LABELLED.exec(line);
    if (!m) {
      if (keeping) out.push(line);
      continue;
    }
    const parts = m[1].split(", ");
    if (parts.length === 2 && parts[1] === "CommandInstantiator" && m[2] === "error") {
      // What the runner process wrote to its standard error (a processor's own logger or console.error):
      // the orchestrator logs each chunk at level error; Riffle prints a runner's stderr as warnings.
      keeping = true;
      out.push("warning: " + m[3]);
      continue;
    }
    keeping = parts.length >= 2 && !OWN_LAST.test(parts[parts.length - 1]);
    if (!keeping) continue;
    const level = m[2];
    if (level === "debug" || level === "verbose" || level === "silly") {
      keeping = false;
      continue;
    }
    const prefix = level === "warn" ? "warning: " : level === "error" ? "error: " : "";
    out.push(prefix + m[3]);
  }
  return out;
}

function version(modules, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8")).version;
  } catch {
    return "missing";
  }
}

export async function recordRdfc(dir) {
  const c = loadCase(dir);
  const modules = path.join(COMPAT, "rdfc", "node_modules");
  const wrong = (c.spec.packages || []).filter((p) => {
    const at = p.lastIndexOf("@");
    return at > 0 && !p.includes("==") && version(modules, p.slice(0, at)) !== p.slice(at + 1);
  });
  if (wrong.length) throw new Error(`${c.name}: not installed at these versions: ${wrong.join(", ")}`);
  // rdfc-runner 1.0.0's rdfc:PyRunner starts "hatch run python -m rdfc_runner" (through `bash -l -c`), which
  // needs hatch and a hatch project. For the recording only, a copy of the pipeline names a runner that starts
  // the same module from the case's .venv instead (as rdfc-reference/processors-py.ttl does); Riffle is
  // checked on the pipeline as written.
  let pipeline = c.spec.pipeline;
  const text = fs.readFileSync(path.join(c.dir, pipeline), "utf8");
  const substituted = /rdfc:instantiates\s+rdfc:PyRunner\b/.test(text);
  if (substituted) {
    pipeline = `.recording-${path.basename(pipeline)}`;
    fs.writeFileSync(path.join(c.dir, pipeline), text.replace(/(rdfc:instantiates\s+)rdfc:PyRunner\b/g, "$1<urn:riffle-compat:PyRunnerVenv>") +
      '\n<urn:riffle-compat:PyRunnerVenv> a <https://w3id.org/rdf-connect#Runner>;\n' +
      '  <https://w3id.org/rdf-connect#handlesSubjectsOf> <https://w3id.org/rdf-connect#pyImplementationOf>;\n' +
      '  <https://w3id.org/rdf-connect#command> "./.venv/bin/python -m rdfc_runner".\n');
  }
  // "recordSubstitute": [[file, from, to], ...]: for a case where the original does not do what the pipeline
  // means (case.json "differs" says what it does instead), the recording runs with these text changes in the
  // case's files, and expected/ holds what the pipeline means; the case's files are restored afterwards.
  const saved = [];
  for (const [file, from, to] of c.spec.recordSubstitute || []) {
    const p = path.join(c.dir, file);
    const before = fs.readFileSync(p, "utf8");
    if (!before.includes(from)) throw new Error(`${c.name}: recordSubstitute: ${file} has no ${JSON.stringify(from)}`);
    if (!saved.some(([q]) => q === p)) saved.push([p, before]);
    fs.writeFileSync(p, before.split(from).join(to));
  }
  let r;
  try {
    r = await runCase({ ...c, spec: { ...c.spec, pipeline, keep: undefined, drop: undefined } }, c.spec.original);
  } finally {
    if (substituted) fs.rmSync(path.join(c.dir, pipeline));
    for (const [p, before] of saved) fs.writeFileSync(p, before);
  }
  // The harness's normalisation (ANSI, timestamps, temp path and server placeholders), then ours.
  const keep = c.spec.keep ? new RegExp(c.spec.keep) : null;
  const drop = c.spec.drop ? new RegExp(c.spec.drop) : null;
  const lines = rdfcLines(r.lines).filter((l) => (!keep || keep.test(l)) && !(drop && drop.test(l)));
  const expected = path.join(c.dir, "expected");
  fs.mkdirSync(expected, { recursive: true });
  fs.writeFileSync(path.join(expected, "stdout.txt"), lines.map((l) => l + "\n").join(""));
  const log = r.raw.split(r.tmp).join("$CASE");
  fs.writeFileSync(path.join(expected, "original.log"), log);
  const missing = [];
  fs.rmSync(path.join(expected, "files"), { recursive: true, force: true });
  for (const f of c.spec.files) {
    const src = path.join(r.tmp, f);
    if (!fs.existsSync(src)) { missing.push(f); continue; }
    const dst = path.join(expected, "files", f);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
  }
  const py = /rdfc_runner|PyRunner/.test(text) ? " rdfc-runner@1.0.0 (compat/rdfc/.venv, Python 3.12)" : "";
  const recorded = {
    runtime: `@rdfc/orchestrator-js@${version(path.join(RDFC_REF, "node_modules"), "@rdfc/orchestrator-js")} @rdfc/js-runner@${version(modules, "@rdfc/js-runner")}${py} node ${process.version}`,
    date: new Date().toISOString(),
    exit: r.exit,
    seconds: r.seconds,
  };
  if (substituted) recorded.note = "rdfc:PyRunner (hatch run python -m rdfc_runner) replaced by a runner starting ./.venv/bin/python -m rdfc_runner";
  if (c.spec.recordSubstitute) recorded.substituted = c.spec.recordSubstitute;
  if (missing.length) recorded.missingFiles = missing;
  if (r.requests.length) recorded.requests = r.requests;
  fs.writeFileSync(path.join(expected, "recorded.json"), JSON.stringify(recorded, null, 2) + "\n");
  if (!process.env.KEEP) r.cleanup();
  else console.log(`  kept ${r.tmp}`);
  return { lines, exit: r.exit, missing };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let dirs = process.argv.slice(2);
  if (!dirs.length) {
    const root = path.join(COMPAT, "rdfc", "cases");
    dirs = fs.readdirSync(root).sort().map((n) => path.join(root, n)).filter((d) => fs.existsSync(path.join(d, "case.json")));
  }
  for (const dir of dirs) {
    const r = await recordRdfc(dir);
    console.log(`recorded ${path.basename(dir)}: exit ${r.exit}, ${r.lines.length} lines${r.missing.length ? `, MISSING ${r.missing.join(", ")}` : ""}`);
  }
}
