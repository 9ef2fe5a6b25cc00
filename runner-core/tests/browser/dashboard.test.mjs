// `riffle run --dashboard` in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Each test starts riffle on a free loopback port (it prints the address), opens the page, and asserts
// on the DOM while the pipeline runs and after it ended; screenshots go to target/dashboard/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target");
const riffle = join(target, "release", "riffle");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = join(target, "dashboard");
/** Only keeps a broken run from hanging the suite; nothing asserts on time. */
const SAFETY_MS = 60_000;

const missing = !existsSync(browserPath)
  ? `no Chromium at ${browserPath} (scripts/test installs Debian's chromium package when run as root)`
  : !existsSync(riffle)
    ? `no riffle binary at ${riffle} (cargo build --release first)`
    : false;
if (missing) console.log(`skipping the dashboard's browser tests: ${missing}`);

/** The IRI riffle gives a thing named `local` in the pipeline file's folder. */
const iri = (folder, local) => pathToFileURL(join(folder, local)).href;

/** `riffle run pipeline.ttl --dashboard --keep-serving` in `folder`, its stderr split into lines. */
function startRun(folder) {
  const child = spawn(riffle, ["run", "pipeline.ttl", "--dashboard", "--keep-serving", "--progress", "never"], {
    cwd: folder,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines = [];
  const waiting = [];
  let rest = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    const parts = (rest + chunk).split(/\r?\n|\r/);
    rest = parts.pop();
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiting]) if (w.wanted(line)) w.found(line);
    }
  });
  const exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  const waitFor = (wanted) =>
    new Promise((found, failed) => {
      const seen = lines.find(wanted);
      if (seen !== undefined) return found(seen);
      const timer = setTimeout(() => failed(new Error(`riffle never printed the line waited for:\n${lines.join("\n")}`)), SAFETY_MS);
      const entry = {
        wanted,
        found: (line) => {
          clearTimeout(timer);
          waiting.splice(waiting.indexOf(entry), 1);
          found(line);
        },
      };
      waiting.push(entry);
    });
  return { child, lines, exited, waitFor };
}

async function openDashboard(run, t) {
  const announced = await run.waitFor((l) => l.startsWith("dashboard: http://"));
  const url = announced.slice("dashboard: ".length);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  await page.goto(url);
  return { page, problems };
}

function stopWhenDone(run, t) {
  t.after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill("SIGKILL");
      await run.exited;
    }
  });
}

/** The number a cell shows ("1,234" is 1234). */
const count = (text) => Number(text.replaceAll(",", ""));

/** What the summary says passed through `channel` (its line is `  <name>  N  BYTES`). */
async function summaryCount(run, name) {
  const line = await run.waitFor((l) => l.startsWith(`  ${name} `));
  return count(line.trim().split(/\s+/)[1]);
}

const cell = (page, table, id, column) => page.locator(`#${table} tr[data-id="${id}"] td.${column}`);

test("every processor is drawn, counts grow while the run goes on and end at the summary's values", { skip: missing }, async (t) => {
  const folder = join(here, "watched");
  mkdirSync(shots, { recursive: true });
  const run = startRun(folder);
  stopWhenDone(run, t);
  const { page, problems } = await openDashboard(run, t);

  const names = ["<count>", "<gen>", "<log>", "<words>"];
  await page.waitForFunction((n) => document.querySelectorAll("#graph g.node").length === n, names.length);
  const drawn = await page.locator("#graph g.node text:first-of-type").allTextContents();
  assert.deepEqual(drawn.sort(), names);
  const listed = await page.locator("#processors tbody td:first-child").allTextContents();
  assert.deepEqual(listed.sort(), names);
  const lanes = await page.locator("#graph g.lane text").allTextContents();
  assert.deepEqual(lanes, [
    "runner rust: Rust, riffle:RustRunner",
    "runner rust-2: Rust, riffle:RustRunner",
    "runner javascript: JavaScript (Node.js), riffle:JsRunner",
  ]);

  const numbers = iri(folder, "numbers");
  const messages = cell(page, "channels", numbers, "messages");
  await page.waitForFunction((id) => {
    const text = document.querySelector(`#channels tr[data-id="${id}"] td.messages`).textContent;
    return Number(text.replaceAll(",", "")) > 0;
  }, numbers);
  const first = count(await messages.textContent());
  await page.waitForFunction(
    ([id, before]) => Number(document.querySelector(`#channels tr[data-id="${id}"] td.messages`).textContent.replaceAll(",", "")) > before,
    [numbers, first],
  );
  assert.equal(await cell(page, "processors", iri(folder, "gen"), "state").textContent(), "running");
  assert.equal(await page.locator("#run-state").textContent(), "running");
  // Every runner this run started shows its pid and memory.
  for (const id of ["rust", "rust-2", "javascript"]) {
    await page.waitForFunction((r) => /^\d+$/.test(document.querySelector(`#runners tr[data-id="${r}"] td.pid`).textContent), id);
    assert.match(await cell(page, "runners", id, "memory").textContent(), /^\d+(\.\d)? (KiB|MiB|GiB)$/);
  }

  // The log tail: the Log processor's three lines, alone once filtered by it.
  const log = iri(folder, "log");
  await page.waitForFunction(() => document.querySelector("#log").textContent.includes("seen: 2:"));
  await page.selectOption("#log-filter", log);
  const filtered = await page.locator("#log > div").evaluateAll((lines) => lines.map((l) => [l.dataset.processor, l.lastChild.textContent]));
  assert.deepEqual(filtered, [
    [log, "seen: 0:abcdefghij"],
    [log, "seen: 1:abcdefghij"],
    [log, "seen: 2:abcdefghij"],
  ]);
  await page.selectOption("#log-filter", iri(folder, "words"));
  assert.deepEqual(await page.locator("#log > div").evaluateAll((lines) => lines.map((l) => l.lastChild.textContent)), ["sent 3 messages"]);
  await page.screenshot({ path: join(shots, "running.png"), fullPage: true });

  run.child.kill("SIGINT");
  const passed = await summaryCount(run, "<numbers>");
  const said = await summaryCount(run, "<said>");
  await run.waitFor((l) => l.startsWith("riffle: the run has ended; still serving the dashboard at http://"));
  await page.waitForFunction(() => document.querySelector("#run-state").textContent === "interrupted");
  assert.equal(count(await messages.textContent()), passed);
  assert.equal(count(await cell(page, "channels", iri(folder, "said"), "messages").textContent()), said);
  assert.equal(said, 3);
  assert.equal(await cell(page, "processors", iri(folder, "gen"), "state").textContent(), "stopped");
  assert.equal(await cell(page, "processors", log, "state").textContent(), "finished");

  // The SPARQL box asks the same live graphs: its table has the summary's count.
  await page.fill("#query-text", "SELECT ?channel ?messages WHERE { ?channel riffle:messages ?messages } ORDER BY ?channel");
  await page.click("#query button");
  await page.waitForSelector("#query-result table.results");
  const rows = await page.locator("#query-result tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(rows, [
    [numbers, String(passed)],
    [iri(folder, "said"), "3"],
  ]);
  assert.equal(await page.locator("#query-result p.legend").textContent(), "2 rows");
  await page.screenshot({ path: join(shots, "ended.png"), fullPage: true });
  assert.deepEqual(problems, []);

  run.child.kill("SIGINT");
  assert.deepEqual(await run.exited, { code: 130, signal: null });
});

test("a failing processor's message and stack are shown, and a wrong query's error", { skip: missing }, async (t) => {
  const folder = join(here, "..", "run", "js-throws");
  const run = startRun(folder);
  stopWhenDone(run, t);
  const { page, problems } = await openDashboard(run, t);
  await run.waitFor((l) => l.startsWith("riffle: the run has ended; still serving"));
  await page.waitForFunction(() => document.querySelector("#run-state").textContent === "failed");
  const explode = iri(folder, "explode");
  const failure = page.locator(`#failures .failure[data-id="${explode}"]`);
  assert.equal(await failure.locator(".message").textContent(), 'cannot take "abcdefgh"');
  const stack = await failure.locator("pre.stack").textContent();
  assert.match(stack, /^Error: cannot take "abcdefgh"\n\s+at Explode\.transform \(file:\/\/.*\/js-processors\/processors\.mjs:\d+:\d+\)/);
  assert.equal(await cell(page, "processors", explode, "state").textContent(), "failed");
  assert.equal(await page.locator(`#graph g.node[data-id="${explode}"]`).getAttribute("class"), "node failed");

  await page.fill("#query-text", "SELECT ?stack WHERE { ?p riffle:stack ?stack }");
  await page.click("#query button");
  await page.waitForSelector("#query-result table.results");
  assert.deepEqual(await page.locator("#query-result tbody td").allTextContents(), [stack]);
  await page.fill("#query-text", "SELECT nonsense");
  await page.click("#query button");
  await page.waitForSelector("#query-result pre.error");
  assert.match(await page.locator("#query-result pre.error").textContent(), /^400: /);
  await page.screenshot({ path: join(shots, "failed.png"), fullPage: true });
  // The wrong query's 400 is the only thing the browser complains about.
  assert.deepEqual(problems, ["console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"]);

  run.child.kill("SIGINT");
  const exit = await run.exited;
  assert.equal(exit.code, 1, `riffle exits 1 after a failure: ${JSON.stringify(exit)}`);
});

test("a 1,000-processor pipeline is drawn whole, filters find one channel, and every count ends exact", { skip: missing }, async (t) => {
  const pairs = 500;
  const folder = mkdtempSync(join(tmpdir(), "riffle-dashboard-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const list = (prefix) => Array.from({ length: pairs }, (_, i) => `<${prefix}${i}>`).join(", ");
  let pipeline = "@prefix rdfc: <https://w3id.org/rdf-connect#>.\n@prefix riffle: <https://w3id.org/riffle#>.\n";
  pipeline += `<> a rdfc:Pipeline; rdfc:consistsOf [ rdfc:instantiates riffle:RustRunner; rdfc:processor ${list("g")} ],\n`;
  pipeline += `  [ rdfc:instantiates riffle:RustRunner; rdfc:processor ${list("c")} ].\n`;
  for (let i = 0; i < pairs; i++) {
    pipeline += `<n${i}> a rdfc:Reader, rdfc:Writer.\n`;
    pipeline += `<g${i}> a riffle:Generator; riffle:count ${i + 1}; riffle:size 8; riffle:output <n${i}>.\n`;
    pipeline += `<c${i}> a riffle:Counter; riffle:input <n${i}>.\n`;
  }
  writeFileSync(join(folder, "pipeline.ttl"), pipeline);
  const run = startRun(folder);
  stopWhenDone(run, t);
  const opened = Date.now();
  const { page, problems } = await openDashboard(run, t);
  await page.waitForFunction((n) => document.querySelectorAll("#graph g.node").length === n, 2 * pairs);
  const drawnMs = Date.now() - opened;
  assert.equal(await page.locator("#channels tbody tr").count(), pairs);
  assert.equal(await page.locator("#processors tbody tr").count(), 2 * pairs);
  // Past 300 channels the arrows carry no labels: the table has the figures.
  assert.equal(await page.locator("#graph g.edge text").count(), 0);

  await run.waitFor((l) => l.startsWith("riffle: the run has ended; still serving"));
  await page.waitForFunction(() => document.querySelector("#run-state").textContent === "finished");
  const last = iri(folder, `n${pairs - 1}`);
  await page.waitForFunction((id) => document.querySelector(`#channels tr[data-id="${id}"] td.messages`).textContent === "500", last);
  const shown = await page.locator("#channels tbody tr td.messages").allTextContents();
  assert.deepEqual(shown.map(count).sort((a, b) => a - b), Array.from({ length: pairs }, (_, i) => i + 1));
  await page.fill("#channel-filter", `<n${pairs - 1}>`);
  assert.deepEqual(await page.locator("#channels tbody tr:not([hidden]) td:first-child").allTextContents(), [`<n${pairs - 1}>`]);
  await page.fill("#processor-filter", "<c7>");
  assert.deepEqual(await page.locator("#processors tbody tr:not([hidden]) td:first-child").allTextContents(), ["<c7>"]);
  // Each processor is a square coloured by its state; a click shows its row.
  assert.equal(await page.locator("#graph g.node.finished").count(), 2 * pairs);
  await page.locator(`#graph g.node[data-id="${iri(folder, "g42")}"]`).click();
  assert.equal(await page.inputValue("#processor-filter"), "<g42>");
  assert.deepEqual(await page.locator("#processors tbody tr:not([hidden]) td:first-child").allTextContents(), ["<g42>"]);
  const state = await page.evaluate(async () => (await (await fetch("/state.json")).text()).length);
  await page.locator("#graph").screenshot({ path: join(shots, "thousand.png") });
  console.log(`1,000 processors: drawn ${drawnMs} ms after the page was opened; /state.json ${state} bytes`);
  assert.deepEqual(problems, []);

  run.child.kill("SIGINT");
  assert.deepEqual(await run.exited, { code: 0, signal: null });
});
