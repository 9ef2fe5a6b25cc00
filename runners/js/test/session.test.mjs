// One runner process against a fake orchestrator (a `ws` server on port 0): the session of
// protocol/fixtures/session.jsonl with a local pipeline, and the ways a session can go wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromEnv } from "../src/session.mjs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";

const SECRET = "3f9a0c1d2e4b5a6978877665544332211ffeeddccbbaa99887766554433221100";
const BIN = fileURLToPath(new URL("../bin/riffle-runner-js.mjs", import.meta.url));
const PROCESSORS = pathToFileURL(fileURLToPath(new URL("../test-support/processors.mjs", import.meta.url))).href;
const CONFORMANCE = pathToFileURL(fileURLToPath(new URL("../conformance/processors.mjs", import.meta.url))).href;
const fixture = (name) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../protocol/fixtures/${name}`, import.meta.url)), "utf8"));
const GEN = "file:///pipelines/demo/gen";
const SINK = "file:///pipelines/demo/sink";
const NUMBERS = "file:///pipelines/demo/numbers";

const classProcessor = (id, clazz, args) => ({ id, class: `https://example.org/${clazz}`, implementation: { file: PROCESSORS, class: clazz }, arguments: args });
const localAssign = (count) => ({
  type: "assign",
  processors: [
    classProcessor(GEN, "Generator", { writer: { "@writer": NUMBERS }, count, size: 64 }),
    classProcessor(SINK, "Counter", { reader: { "@reader": NUMBERS } }),
  ],
  channels: [
    {
      id: NUMBERS,
      transport: "memory",
      writers: [{ processor: GEN, argument: "writer", runner: "javascript" }],
      readers: [{ processor: SINK, argument: "reader", runner: "javascript" }],
    },
  ],
});

/** A fake orchestrator and one runner process connected to it. */
async function session(secret = SECRET) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const child = spawn(process.execPath, [BIN], {
    env: { ...process.env, RIFFLE_CONTROL_URL: `ws://127.0.0.1:${server.address().port}`, RIFFLE_SECRET: secret, RIFFLE_RUNNER_ID: "javascript" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
  const ws = await new Promise((resolve) => server.once("connection", resolve));
  const inbox = [];
  let waiter = null;
  let closed = false;
  ws.on("message", (data) => {
    inbox.push(JSON.parse(data.toString()));
    waiter?.();
  });
  ws.on("close", () => {
    closed = true;
    waiter?.();
  });
  const recv = async () => {
    while (inbox.length === 0) {
      if (closed) return null;
      await new Promise((resolve) => (waiter = resolve));
    }
    return inbox.shift();
  };
  const until = async (type) => {
    for (;;) {
      const message = await recv();
      if (message === null || message.type === type) return message;
    }
  };
  const rest = async () => {
    const all = [];
    for (let m = await recv(); m !== null; m = await recv()) all.push(m);
    return all;
  };
  const send = (message) => ws.send(JSON.stringify(message));
  const done = async () => {
    const result = await exited;
    server.close();
    return result;
  };
  return { child, recv, until, rest, send, done, ws };
}

async function startLocal(s, assign) {
  s.send(fixture("orchestrator/welcome.json"));
  s.send(assign);
  const listening = await s.recv();
  s.send({ type: "connect", endpoints: { javascript: listening.endpoint } });
  assert.deepEqual(await s.recv(), fixture("runner/wired.json"));
  s.send(fixture("orchestrator/init.json"));
  assert.deepEqual(await s.recv(), fixture("runner/initialised.json"));
  s.send(fixture("orchestrator/start.json"));
}

test("replays the session with a local pipeline", async () => {
  const s = await session();
  const hello = await s.recv();
  assert.equal(hello.secret, SECRET);
  assert.equal(hello.pid, s.child.pid);
  const expected = fixture("runner/hello.json");
  for (const field of ["pid", "secret", "runner", "language"]) {
    delete hello[field];
    delete expected[field];
  }
  assert.deepEqual(hello, expected);

  s.send(fixture("orchestrator/welcome.json"));
  s.send(localAssign(1000));
  const listening = await s.recv();
  assert.equal(listening.type, "listening");
  assert.match(listening.endpoint, /^127\.0\.0\.1:[1-9][0-9]*$/);
  s.send({ type: "connect", endpoints: { javascript: listening.endpoint } });
  assert.deepEqual(await s.recv(), fixture("runner/wired.json"));
  s.send(fixture("orchestrator/init.json"));
  assert.deepEqual(await s.recv(), fixture("runner/initialised.json"));
  s.send(fixture("orchestrator/start.json"));

  const after = [];
  while (after.filter((m) => m.type === "finished").length < 2) {
    const message = await s.recv();
    assert.notEqual(message, null, "the runner closed before both finished");
    if (message.type !== "stats") after.push(message);
  }
  const of = (id) => after.filter((m) => m.processor === id).map((m) => [m.type, m.message ?? ""]);
  assert.deepEqual(of(GEN), [["log", "sent 1000 messages"], ["finished", ""]]);
  assert.deepEqual(of(SINK), [["log", "1000 messages, 64000 bytes"], ["finished", ""]]);
  assert.equal(after.length, 4);
  assert.ok(after.filter((m) => m.type === "log").every((m) => m.level === "info"));

  s.send({ type: "stop", reason: "every processor finished" });
  const rest = await s.rest();
  const kinds = rest.map((m) => m.type);
  assert.deepEqual(kinds.slice(-2), ["stats", "bye"]);
  assert.ok(kinds.slice(0, -2).every((k) => k === "stats"));
  const ends = rest.at(-2).ends.sort((a, b) => a.role.localeCompare(b.role));
  // The writer's wait for room depends on the machine; that it is reported does not.
  assert.ok(Number.isInteger(ends[1].blocked_us) && ends[1].blocked_us >= 0, JSON.stringify(ends[1]));
  delete ends[1].blocked_us;
  assert.deepEqual(ends, [
    { channel: NUMBERS, processor: SINK, role: "reader", messages: 1000, bytes: 64000 },
    { channel: NUMBERS, processor: GEN, role: "writer", messages: 1000, bytes: 64000 },
  ]);
  assert.deepEqual(rest.at(-1), fixture("runner/bye.json"));
  const { code, stderr } = await s.done();
  assert.equal(code, 0, stderr);
});

test("a writer held back by a slow reader reports blocked_us; one that is not, 0", async () => {
  // 1,536 messages through rcf:Slow (2 ms before each read) with a queue of 1,024: the generator waits
  // while Slow reads the last 512, at least 1 ms of real time each (a 2 ms timer can fire up to 1 ms
  // early by the event loop's clock). Slow's own writer feeds a reader that is never behind.
  const N = 1536;
  const DELAY_MS = 2;
  const SLOW = "file:///pipelines/demo/slow";
  const SLOWED = "file:///pipelines/demo/slowed";
  const channel = (id, writer, reader) => ({
    id,
    transport: "memory",
    writers: [{ processor: writer, argument: "writer", runner: "javascript" }],
    readers: [{ processor: reader, argument: "reader", runner: "javascript" }],
  });
  const s = await session();
  await s.until("hello");
  await startLocal(s, {
    type: "assign",
    processors: [
      classProcessor(GEN, "Generator", { writer: { "@writer": NUMBERS }, count: N, size: 64 }),
      { id: SLOW, class: "https://w3id.org/riffle/conformance#Slow", implementation: { file: CONFORMANCE, class: "Slow" }, arguments: { reader: { "@reader": NUMBERS }, writer: { "@writer": SLOWED }, delayMs: DELAY_MS } },
      classProcessor(SINK, "Counter", { reader: { "@reader": SLOWED } }),
    ],
    channels: [channel(NUMBERS, GEN, SLOW), channel(SLOWED, SLOW, SINK)],
  });
  const finished = new Set();
  while (finished.size < 3) {
    const message = await s.recv();
    assert.notEqual(message, null, "the runner closed before every processor finished");
    assert.notEqual(message.type, "failed", JSON.stringify(message));
    if (message.type === "finished") finished.add(message.processor);
  }
  s.send(fixture("orchestrator/stop.json"));
  const rest = await s.rest();
  const ends = rest.at(-2).ends;
  const end = (channel, role) => ends.find((e) => e.channel === channel && e.role === role);
  const held = end(NUMBERS, "writer");
  assert.deepEqual({ ...held, blocked_us: 0 }, { channel: NUMBERS, processor: GEN, role: "writer", messages: N, bytes: 64 * N, blocked_us: 0 });
  const bound = (N - 1024 - 1) * (DELAY_MS - 1) * 1000 * 0.9;
  assert.ok(held.blocked_us >= bound, `blocked_us ${held.blocked_us} < ${bound}`);
  assert.deepEqual(end(SLOWED, "writer"), { channel: SLOWED, processor: SLOW, role: "writer", messages: N, bytes: 64 * N, blocked_us: 0 });
  assert.deepEqual(end(NUMBERS, "reader"), { channel: NUMBERS, processor: SLOW, role: "reader", messages: N, bytes: 64 * N });
  assert.equal((await s.done()).code, 0);
});

test("an unknown class fails init and names it", async () => {
  const s = await session();
  await s.until("hello");
  s.send(fixture("orchestrator/welcome.json"));
  s.send({ type: "assign", processors: [classProcessor("file:///p/nope", "Nope", {})], channels: [] });
  const listening = await s.until("listening");
  s.send({ type: "connect", endpoints: { javascript: listening.endpoint } });
  await s.until("wired");
  s.send({ type: "init" });
  assert.deepEqual(await s.recv(), {
    type: "failed",
    processor: "file:///p/nope",
    phase: "init",
    message: `processor file:///p/nope needs class "Nope", which ${fileURLToPath(PROCESSORS)} does not export (it exports: Counter, Generator, Thrower)`,
    stack: null,
  });
  s.send(fixture("orchestrator/stop.json"));
  assert.equal((await s.rest()).at(-1).type, "bye");
  assert.equal((await s.done()).code, 0);
});

test("a processor error is failed with its phase, message and JS stack", async () => {
  const s = await session();
  await s.until("hello");
  await startLocal(s, { type: "assign", processors: [classProcessor("file:///p/throw", "Thrower", {})], channels: [] });
  const failed = await s.until("failed");
  assert.equal(failed.processor, "file:///p/throw");
  assert.equal(failed.phase, "produce");
  assert.equal(failed.message, "deliberate failure");
  assert.match(failed.stack, /^Error: deliberate failure\n    at Thrower\.produce \(file:\/\/.*processors\.mjs:\d+:\d+\)/);
  s.send(fixture("orchestrator/stop.json"));
  await s.rest();
  assert.equal((await s.done()).code, 0);
});

test("the runner exits when the orchestrator vanishes", async () => {
  const s = await session();
  await s.until("hello");
  await startLocal(s, localAssign(Number.MAX_SAFE_INTEGER));
  await s.until("stats");
  s.ws.terminate();
  const { code, stderr } = await s.done();
  assert.equal(code, 1);
  assert.match(stderr, /the orchestrator went away/);
});

test("SIGTERM stops with stats and bye, exit 143", async () => {
  const s = await session();
  await s.until("hello");
  await startLocal(s, localAssign(Number.MAX_SAFE_INTEGER));
  await s.until("stats");
  s.child.kill("SIGTERM");
  const kinds = (await s.rest()).map((m) => m.type);
  assert.deepEqual(kinds.slice(-2), ["stats", "bye"]);
  assert.equal((await s.done()).code, 143);
});

test("a refused runner exits non-zero and says why", async () => {
  const s = await session("not-the-secret");
  const hello = await s.recv();
  assert.equal(hello.secret, "not-the-secret");
  s.send(fixture("orchestrator/refused.json"));
  s.ws.close();
  const { code, stderr } = await s.done();
  assert.equal(code, 1);
  assert.equal(stderr.trim(), "riffle-runner-js: the orchestrator refused this runner: wrong secret");
});

test("without its environment the runner says what is missing", async () => {
  const env = { ...process.env };
  delete env.RIFFLE_CONTROL_URL;
  const child = spawn(process.execPath, [BIN], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 2);
  assert.ok(stderr.startsWith("riffle-runner-js: RIFFLE_CONTROL_URL is not set"), stderr);
});

test("the secret can come from the file RIFFLE_SECRET_FILE names", () => {
  const file = join(mkdtempSync(join(tmpdir(), "riffle-secret-")), "run.secret");
  writeFileSync(file, `${SECRET}\n`);
  const env = { RIFFLE_CONTROL_URL: "ws://127.0.0.1:1", RIFFLE_RUNNER_ID: "javascript", RIFFLE_SECRET_FILE: file };
  assert.equal(configFromEnv(env).secret, SECRET);
  writeFileSync(file, "");
  assert.throws(() => configFromEnv(env), { message: `RIFFLE_SECRET_FILE=${file} is empty; it should hold the run's secret on its first line` });
});
