#!/usr/bin/env node
// The compatibility harness: runs a case (a pipeline folder with case.json) under the ORIGINAL runtime
// to record what it does, or under Riffle to check that it does the same. Node 20, no dependencies.
//
//   node compat/harness.mjs record <case-dir>...   original runtime -> <case>/expected/
//   node compat/harness.mjs check  <case-dir>...   Riffle ($RIFFLE, default <repo>/target/release/riffle)
//   node compat/harness.mjs run    <case-dir> [riffle|js-runner-1|rdfc]   print the normalised output
//
// Each run happens in a fresh temp copy of the case: node_modules (and .venv) are symlinks to the
// suite's installs, {{SERVER}} in every .ttl file (and every file of the served folder) becomes the base
// URL of a static HTTP server on 127.0.0.1 port 0, and {{PORT}}, {{PORT2}}, ... become free ports.
// Set KEEP=1 to keep the temp copies (their paths are printed); a failed check always keeps its copy.
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const COMPAT = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.dirname(COMPAT);
export const RIFFLE = process.env.RIFFLE || path.join(REPO, "target/release/riffle");
export const RDFC_REF = process.env.RDFC_REF || "/tmp/rdfc-ref";

/** Reads a case folder: its case.json, with defaults, and which suite (conn or rdfc) it belongs to. */
export function loadCase(dir) {
  dir = path.resolve(dir);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, "case.json"), "utf8"));
  const suite = path.basename(path.dirname(path.dirname(dir)));
  return {
    dir,
    name: path.basename(dir),
    suite,
    spec: { pipeline: "pipeline.ttl", exit: 0, timeout: 60, unordered: false, files: [], ...spec },
  };
}

/** Every case folder of the suites: compat/<suite>/cases/<name>/case.json. */
export function allCases() {
  const out = [];
  for (const suite of fs.readdirSync(COMPAT).sort()) {
    const cases = path.join(COMPAT, suite, "cases");
    if (!fs.existsSync(cases)) continue;
    for (const name of fs.readdirSync(cases).sort()) {
      if (fs.existsSync(path.join(cases, name, "case.json"))) out.push(path.join(cases, name));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Preparing a run: temp copy, symlinks, static server, substitutions.

const TYPES = {
  ".ttl": "text/turtle", ".trig": "application/trig", ".nt": "application/n-triples",
  ".nq": "application/n-quads", ".jsonld": "application/ld+json", ".json": "application/json",
  ".txt": "text/plain", ".html": "text/html", ".xml": "application/xml", ".rdf": "application/rdf+xml",
  ".gz": "application/gzip", ".zip": "application/zip",
};

/** A static file server on 127.0.0.1 port 0 over `root`. A folder serves its index.* file; a file
 * without an extension is served as Turtle. Resolves to { server, url, requests }. */
function serve(root) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
    requests.push(`${req.method} ${req.url}`);
    let file = path.join(root, urlPath);
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
      const index = fs.readdirSync(file).sort().find((f) => f.startsWith("index."));
      file = index ? path.join(file, index) : "";
    }
    if (!file || !fs.existsSync(file)) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    const type = TYPES[path.extname(file)] || "text/turtle";
    res.writeHead(200, { "content-type": type });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/`, requests });
    });
  });
}

/** A port that was free a moment ago (bound on port 0, then released), for pipelines that must name one. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function walk(dir, pred, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink() || entry.name === "node_modules" || entry.name === ".venv") continue;
    if (entry.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

/** Makes the temp copy of a case and everything it asks for. Returns { tmp, vars, stop() }. */
async function prepare(c) {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `compat-${c.name}-`)));
  fs.cpSync(c.dir, tmp, {
    recursive: true,
    filter: (src) => path.relative(c.dir, src).split(path.sep)[0] !== "expected",
  });
  const modules = path.join(COMPAT, c.suite, "node_modules");
  if (fs.existsSync(modules) && !fs.existsSync(path.join(tmp, "node_modules"))) {
    fs.symlinkSync(modules, path.join(tmp, "node_modules"));
  }
  // Folders several cases share (compat/<suite>/shared/<name>, case.json "shared"), linked like node_modules.
  for (const name of c.spec.shared ?? []) {
    fs.symlinkSync(path.join(COMPAT, c.suite, "shared", name), path.join(tmp, name));
  }
  const venv = path.join(COMPAT, "rdfc", ".venv");
  if (fs.existsSync(venv) && !fs.existsSync(path.join(tmp, ".venv"))) fs.symlinkSync(venv, path.join(tmp, ".venv"));

  const vars = {}; // placeholder -> value, also used to put the placeholders back into the output
  let server;
  if (c.spec.serve) {
    server = await serve(path.join(tmp, c.spec.serve));
    vars["{{SERVER}}"] = server.url;
  }
  const ttls = walk(tmp, (p) => p.endsWith(".ttl"));
  const served = c.spec.serve ? walk(path.join(tmp, c.spec.serve), () => true) : [];
  const targets = [...new Set([...ttls, ...served])];
  for (const file of targets) {
    for (const m of fs.readFileSync(file, "utf8").matchAll(/\{\{PORT\d*\}\}/g)) {
      if (!(m[0] in vars)) vars[m[0]] = String(await freePort());
    }
  }
  for (const file of targets) {
    const text = fs.readFileSync(file, "utf8");
    const out = text.replace(/\{\{(SERVER|PORT\d*)\}\}/g, (m) => vars[m] ?? m);
    if (out !== text) fs.writeFileSync(file, out);
  }
  return {
    tmp,
    vars,
    requests: server ? server.requests : [],
    stop: () => new Promise((resolve) => {
      if (!server) return resolve();
      server.server.close(() => resolve());
      server.server.closeAllConnections();
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Running a runtime.

/** The argv and extra environment of each runtime, run in the case's temp copy. */
function command(runtime, pipeline) {
  switch (runtime) {
    case "riffle":
      return { argv: [RIFFLE, "run", "--progress", "never", pipeline], env: {} };
    case "js-runner-1":
      return {
        argv: [process.execPath, path.join(COMPAT, "conn/node_modules/@rdfc/js-runner/bin/js-runner.js"), pipeline],
        env: {},
      };
    case "rdfc":
      return { argv: [path.join(RDFC_REF, "node_modules/.bin/rdfc"), pipeline], env: { RDFC_ONTOLOGY: "none" } };
    default:
      throw new Error(`unknown runtime ${runtime}`);
  }
}

/** Runs the case under `runtime` with its timeout. The process gets its own process group, which is
 * killed when the leader exits or the timeout passes, so nothing outlives the run. */
function exec(argv, { cwd, env, timeout }) {
  return new Promise((resolve) => {
    const started = Date.now();
    let raw = "";
    let timedOut = false;
    const child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const killGroup = () => {
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    };
    child.stdout.on("data", (d) => (raw += d));
    child.stderr.on("data", (d) => (raw += d));
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, timeout * 1000);
    let exit = null;
    child.on("error", (e) => { raw += `harness: cannot start ${argv[0]}: ${e.message}\n`; exit = 127; });
    child.on("exit", (code, signal) => {
      exit = code ?? (signal ? `signal ${signal}` : null);
      killGroup(); // leftovers would hold the pipes open
    });
    child.on("close", () => {
      clearTimeout(timer);
      resolve({ exit: timedOut ? "timeout" : exit, raw, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /;
// Riffle prints a processor's output as "[<name>] text", or for a blank node "[js:Log at pipeline.ttl:7] text"; every other
// line ("riffle: ...", the summary, "[runner js] ...", "error: ...") is Riffle's own.
const RIFFLE_PROCESSOR = /^\[(?!runner )(\[\]|[^\]\s]+|[^\]\s]+ (?:at|in) [^\]\s]+)\] /;

/** Paths of the temp copy, the server's URL and the picked ports differ every run: this puts their
 * placeholders back ($CASE, {{SERVER}}, {{PORT}}...), in the output and in produced files. */
export function placeholders(text, { tmp, vars }) {
  text = text.split(tmp).join("$CASE");
  for (const [name, value] of Object.entries(vars)) {
    if (name === "{{SERVER}}") text = text.split(value).join(name);
  }
  for (const [name, value] of Object.entries(vars)) {
    if (name !== "{{SERVER}}") text = text.split(`127.0.0.1:${value}`).join(`127.0.0.1:${name}`).split(`localhost:${value}`).join(`localhost:${name}`);
  }
  return text;
}

/** A produced file's bytes with the placeholders put back (ASCII replacements, so any bytes survive). */
function producedFile(file, prep) {
  return Buffer.from(placeholders(fs.readFileSync(file).toString("latin1"), prep), "latin1");
}

/** The lines a run's processors wrote, normalised the same way for every runtime. */
export function normalise(raw, runtime, { tmp, vars }, spec) {
  const text = placeholders(raw.replace(ANSI, ""), { tmp, vars });
  const keep = spec.keep ? new RegExp(spec.keep) : null;
  const drop = spec.drop ? new RegExp(spec.drop) : null;
  const out = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.split("\r").pop(); // a redrawn line: what is left on screen
    if (runtime === "riffle") {
      const m = RIFFLE_PROCESSOR.exec(line);
      if (!m) continue;
      line = line.slice(m[0].length);
    }
    line = line.replace(TIMESTAMP, "").trimEnd();
    if (line === "") continue;
    if (keep && !keep.test(line)) continue;
    if (drop && drop.test(line)) continue;
    out.push(line);
  }
  return out;
}

/** Runs case `c` under `runtime`; returns { exit, raw, lines, tmp, requests, seconds, cleanup() }. */
export async function runCase(c, runtime) {
  const prep = await prepare(c);
  const { argv, env } = command(runtime, c.spec.pipeline);
  const result = await exec(argv, {
    cwd: prep.tmp,
    env: { ...process.env, ...env, ...(c.spec.env || {}) },
    timeout: c.spec.timeout,
  });
  await prep.stop();
  return {
    ...result,
    tmp: prep.tmp,
    file: (f) => (fs.existsSync(path.join(prep.tmp, f)) ? producedFile(path.join(prep.tmp, f), prep) : null),
    requests: prep.requests,
    lines: normalise(result.raw, runtime, prep, c.spec),
    cleanup: () => fs.rmSync(prep.tmp, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------------
// record and check.

function installedVersion(modules, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8")).version;
  } catch {
    return "missing";
  }
}

function runtimeVersions(c) {
  const node = `node ${process.version}`;
  if (c.spec.original === "rdfc") {
    const m = path.join(RDFC_REF, "node_modules");
    return `@rdfc/orchestrator-js@${installedVersion(m, "@rdfc/orchestrator-js")} @rdfc/js-runner@${installedVersion(path.join(COMPAT, c.suite, "node_modules"), "@rdfc/js-runner")} ${node}`;
  }
  return `@rdfc/js-runner@${installedVersion(path.join(COMPAT, c.suite, "node_modules"), "@rdfc/js-runner")} ${node}`;
}

/** The pinned packages of case.json that are not installed at exactly that version. */
function wrongPackages(c) {
  const modules = path.join(COMPAT, c.suite, "node_modules");
  return (c.spec.packages || []).filter((p) => {
    const at = p.lastIndexOf("@");
    return at > 0 && installedVersion(modules, p.slice(0, at)) !== p.slice(at + 1);
  });
}

/** Runs the original runtime on the case and writes expected/ (stdout.txt, files/, original.log,
 * recorded.json). Returns the run. */
export async function record(dir) {
  const c = loadCase(dir);
  const wrong = wrongPackages(c);
  if (wrong.length) throw new Error(`${c.name}: not installed at these versions: ${wrong.join(", ")} (npm ci in compat/${c.suite})`);
  const r = await runCase(c, c.spec.original);
  const expected = path.join(c.dir, "expected");
  fs.mkdirSync(expected, { recursive: true });
  fs.writeFileSync(path.join(expected, "stdout.txt"), r.lines.map((l) => l + "\n").join(""));
  fs.writeFileSync(path.join(expected, "original.log"), r.raw.split(r.tmp).join("$CASE"));
  const missing = [];
  fs.rmSync(path.join(expected, "files"), { recursive: true, force: true });
  for (const f of c.spec.files) {
    const bytes = r.file(f);
    if (!bytes) { missing.push(f); continue; }
    const dst = path.join(expected, "files", f);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.writeFileSync(dst, bytes);
  }
  const recorded = { runtime: runtimeVersions(c), date: new Date().toISOString(), exit: r.exit, seconds: r.seconds };
  if (missing.length) recorded.missingFiles = missing;
  if (r.requests.length) recorded.requests = r.requests;
  fs.writeFileSync(path.join(expected, "recorded.json"), JSON.stringify(recorded, null, 2) + "\n");
  r.cleanup();
  return { ...r, missing, recorded };
}

function sameLines(actual, expected, unordered) {
  if (!unordered) return actual.length === expected.length && actual.every((l, i) => l === expected[i]);
  const a = [...actual].sort(), e = [...expected].sort();
  return a.length === e.length && a.every((l, i) => l === e[i]);
}

/** Runs Riffle on the case and compares it with the expectation. Returns { ok, problems, comparisons,
 * run }: comparisons are { what, expected, actual } (exit code, stdout lines, each file's text), problems
 * the human-readable mismatches among them. */
export async function check(dir) {
  const c = loadCase(dir);
  const r = await runCase(c, "riffle");
  const comparisons = [{ what: "exit code", expected: c.spec.exit, actual: r.exit }];
  if (c.spec.stdout) {
    const expected = fs.readFileSync(path.join(c.dir, c.spec.stdout), "utf8").split("\n").filter((l) => l !== "");
    const sort = (l) => (c.spec.unordered ? [...l].sort() : l);
    comparisons.push({ what: `stdout${c.spec.unordered ? " (unordered)" : ""}`, expected: sort(expected), actual: sort(r.lines) });
  }
  const filesDir = path.join(c.dir, c.spec.filesDir || "expected/files");
  for (const f of c.spec.files) {
    const got = r.file(f);
    comparisons.push({
      what: `file ${f}`,
      expected: fs.readFileSync(path.join(filesDir, f)).toString("latin1"),
      actual: got ? got.toString("latin1") : "(not produced)",
    });
  }
  const show = (v) => (Array.isArray(v) ? v.join("\n") : String(v));
  const problems = comparisons
    .filter((x) => JSON.stringify(x.expected) !== JSON.stringify(x.actual))
    .map((x) => (typeof x.expected === "number" || typeof x.expected === "string" && !x.what.startsWith("file")
      ? `${x.what}: expected ${x.expected}, got ${x.actual}`
      : `${x.what} differs:\n--- expected\n${show(x.expected)}\n--- got\n${show(x.actual)}`));
  const ok = problems.length === 0;
  if (!ok) {
    const own = r.raw.replace(ANSI, "").split(r.tmp).join("$CASE").split("\n").filter((l) => l && !RIFFLE_PROCESSOR.test(l));
    problems.push(`riffle's own output (last ${Math.min(own.length, 25)} lines):\n${own.slice(-25).join("\n")}`);
  }
  if (ok && !process.env.KEEP) r.cleanup();
  else problems.push(`(temp copy kept: ${r.tmp})`);
  return { ok, problems, comparisons, run: r, case: c };
}

// ---------------------------------------------------------------------------------------------------
// Command line.

async function main([verb, ...args]) {
  if (!["record", "check", "run"].includes(verb) || (verb !== "check" && args.length === 0)) {
    console.error("usage: node compat/harness.mjs record|check <case-dir>...  |  run <case-dir> [riffle|js-runner-1|rdfc]");
    return 2;
  }
  if (verb === "run") {
    const c = loadCase(args[0]);
    const r = await runCase(c, args[1] || "riffle");
    process.stdout.write(r.raw);
    console.log(`--- normalised (exit ${r.exit}, ${r.seconds} s)`);
    for (const l of r.lines) console.log(l);
    r.cleanup();
    return 0;
  }
  const dirs = args.length ? args : allCases();
  let failed = 0;
  for (const dir of dirs) {
    const name = path.relative(COMPAT, path.resolve(dir));
    if (verb === "record") {
      const r = await record(dir);
      const c = loadCase(dir);
      const note = r.exit !== c.spec.exit && !c.spec.differs ? `  (case.json expects exit ${c.spec.exit}: say why in "differs")` : "";
      console.log(`recorded ${name}: exit ${r.exit}, ${r.lines.length} lines${r.missing.length ? `, MISSING files ${r.missing.join(", ")}` : ""}${note}`);
    } else {
      const { ok, problems, run } = await check(dir);
      if (!ok) failed++;
      console.log(`${ok ? "ok  " : "FAIL"} ${name} (${run.seconds} s)`);
      for (const p of problems) console.log("  " + p.replace(/\n/g, "\n  "));
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code), (e) => {
    console.error(e.stack || String(e));
    process.exitCode = 1;
  });
}
