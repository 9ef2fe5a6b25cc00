// Connector-architecture behaviour of @rdfc/js-runner 1.0.0 (working directory, the end of a run when
// nothing is pending) and the plan's channel additions (no writer, no reader, file and http ends, logLevel),
// against a fake orchestrator with hand-written assign messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import http from "node:http";
import { pathToFileURL, fileURLToPath } from "node:url";
import { session, startLocal, untilDone, stop, end } from "../test-support/orchestrator.mjs";

const dir = (path) => pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href;
const A = dir("./fixtures/conn/pkg-a/index.mjs");
const B = dir("./fixtures/conn/pkg-b/index.mjs");
const CLASSES = dir("../test-support/processors.mjs");
const fn = (id, file, func, location, parameters, args) => ({
  id,
  class: `https://example.org/${func}`,
  implementation: { file, function: func, location, mapping: { parameters: parameters.map((parameter, position) => ({ parameter, position })) } },
  arguments: args,
});
const channel = (id, writers, readers, extra = {}) => ({ id, transport: "memory", writers, readers, ...extra });
const logs = (messages) => messages.filter((m) => m.type === "log").map((m) => `${m.processor} ${m.level} ${m.message}`);
const finished = (messages) => messages.filter((m) => m.type === "finished").map((m) => m.processor).sort();

test("function processors are set up in their class's js:location and start in the last one's, as js-runner 1.0.0", { timeout: 30_000 }, async () => {
  const s = await session({ cwd: fileURLToPath(new URL("./fixtures/conn/", import.meta.url)) });
  const assign = {
    type: "assign",
    processors: [
      fn("a1", A, "where", dir("./fixtures/conn/pkg-a/"), ["writer", "label"], { writer: { "@writer": "c" }, label: "a1" }),
      fn("log", A, "collect", dir("./fixtures/conn/pkg-a/"), ["reader", "label"], { reader: { "@reader": "c" }, label: "log" }),
      fn("b", B, "here", dir("./fixtures/conn/pkg-b/"), ["writer"], { writer: { "@writer": "c" } }),
      fn("a2", A, "where", dir("./fixtures/conn/pkg-a/"), ["writer", "label"], { writer: { "@writer": "c" }, label: "a2" }),
    ],
    channels: [channel("c", [end("a1", "writer"), end("b", "writer"), end("a2", "writer")], [end("log", "reader")])],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 4);
  const got = logs(after).filter((l) => l.startsWith("log info log got")).map((l) => l.slice("log info log got ".length)).sort();
  // Classes in the order first assigned (where: a1, a2; collect: log; here: b), each set up in its folder; all start in b's.
  assert.deepEqual(got, ["a1 setup in pkg-a marker true", "a1 start in pkg-b", "a2 setup in pkg-a marker true", "a2 start in pkg-b", "b setup in pkg-b"]);
  assert.ok(logs(after).includes("log info log ended after 5"));
  await stop(s);
});

test("a run whose source never ends its writer ends once nothing is pending, running no more handlers", { timeout: 30_000 }, async () => {
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "neverEnds", null, ["writer", "messages"], { writer: { "@writer": "c" }, messages: ["one", "two"] }),
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "c" }, label: "log" }),
    ],
    channels: [channel("c", [end("src", "writer")], [end("log", "reader")])],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 2);
  assert.deepEqual(logs(after), ["log info log got one", "log info log got two"]);
  assert.deepEqual(finished(after), ["log", "src"]);
  const { ends } = await stop(s);
  assert.deepEqual(ends.map((e) => [e.role, e.messages]), [["reader", 2], ["writer", 2]]);
});

test("a processor waiting on a timer of its own is not ended early", { timeout: 30_000 }, async () => {
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "waitsThenNeverEnds", null, ["writer", "ms"], { writer: { "@writer": "c" }, ms: 300 }),
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "c" }, label: "log" }),
    ],
    channels: [channel("c", [end("src", "writer")], [end("log", "reader")])],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 2);
  assert.deepEqual(logs(after), ["log info log got after 300 ms"]);
  await stop(s);
});

test("a channel without writer ends its reader at once; one without reader drops and counts what is written", { timeout: 30_000 }, async () => {
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "none" }, label: "log" }),
      { id: "gen", class: "https://example.org/Generator", implementation: { file: CLASSES, class: "Generator" }, arguments: { writer: { "@writer": "void" }, count: 3000, size: 10 } },
    ],
    channels: [channel("none", [], [end("log", "reader")]), channel("void", [end("gen", "writer")], [])],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 2);
  assert.deepEqual(logs(after).sort(), ["gen info sent 3000 messages", "log info log ended after 0"]);
  const { ends } = await stop(s);
  assert.deepEqual(ends, [
    { channel: "none", processor: "log", role: "reader", messages: 0, bytes: 0 },
    { channel: "void", processor: "gen", role: "writer", messages: 3000, bytes: 30000 },
  ]);
});

test("logLevel: every payload written is logged by the writing processor at that level", { timeout: 30_000 }, async () => {
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "neverEnds", null, ["writer", "messages"], { writer: { "@writer": "c" }, messages: ["hi", "there"] }),
    ],
    channels: [channel("c", [end("src", "writer")], [], { logLevel: "warn" })],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 1);
  assert.deepEqual(logs(after), ["src warn hi", "src warn there"]);
  await stop(s);
});

test("file ends: the writer appends (emptied at init), the reader sends what is appended and ends after the writer", { timeout: 30_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "riffle-js-file-"));
  writeFileSync(join(tmp, "out.txt"), "stale\n");
  const s = await session({ cwd: tmp });
  const options = { path: "out.txt", onReplace: false, readFirstContent: null, encoding: null };
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "sendAll", null, ["writer", "messages"], { writer: { "@writer": "w" }, messages: ["one\n", "two\n"] }),
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "r" }, label: "log" }),
    ],
    channels: [
      { id: "w", transport: "file", writers: [end("src", "writer")], readers: [], options },
      { id: "r", transport: "file", writers: [], readers: [end("log", "reader")], options },
    ],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 2);
  assert.equal(readFileSync(join(tmp, "out.txt"), "utf8"), "one\ntwo\n");
  // Both messages may come in one change of the file (the original debounces changes by 100 ms).
  const got = logs(after).filter((l) => l.startsWith("log info log got")).map((l) => l.slice(17)).join("");
  assert.equal(got, "one\ntwo\n");
  await stop(s);
  rmSync(tmp, { recursive: true });
});

test("file writer with onReplace keeps the last message; a plain \"false\" is false", { timeout: 30_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "riffle-js-file-"));
  const s = await session({ cwd: tmp });
  const assign = {
    type: "assign",
    processors: [fn("src", A, "neverEnds", null, ["writer", "messages"], { writer: { "@writer": "w" }, messages: ["a", "b"] })],
    channels: [{ id: "w", transport: "file", writers: [end("src", "writer")], readers: [], options: { path: join(tmp, "s.txt"), onReplace: true, readFirstContent: null, encoding: null } }],
  };
  await startLocal(s, assign);
  await untilDone(s, 1);
  assert.equal(readFileSync(join(tmp, "s.txt"), "utf8"), "b");
  await stop(s);
  const s2 = await session({ cwd: tmp });
  assign.channels[0].options = { path: "s.txt", onReplace: "false", readFirstContent: null, encoding: null };
  await startLocal(s2, assign);
  await untilDone(s2, 1);
  assert.equal(readFileSync(join(tmp, "s.txt"), "utf8"), "ab");
  await stop(s2);
  rmSync(tmp, { recursive: true });
});

async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("http ends: the writer posts each message, the reader emits each body and ends after the writer", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "sendAll", null, ["writer", "messages"], { writer: { "@writer": "w" }, messages: ["first", "second"] }),
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "r" }, label: "log" }),
    ],
    channels: [
      { id: "w", transport: "http", writers: [end("src", "writer")], readers: [], options: { endpoint: `http://127.0.0.1:${port}/`, method: "POST" } },
      { id: "r", transport: "http", writers: [], readers: [end("log", "reader")], options: { endpoint: "127.0.0.1", port, binary: false, waitHandled: true, responseCode: 202 } },
    ],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 2);
  assert.deepEqual(logs(after), ["log info log got first", "log info log got second", "log info log ended after 2"]);
  const { ends } = await stop(s);
  assert.deepEqual(ends.map((e) => [e.channel, e.role, e.messages, e.bytes]), [["r", "reader", 2, 11], ["w", "writer", 2, 11]]);
});

test("an http reader alone answers with its response code and emits bodies as bytes when binary", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const s = await session();
  const assign = {
    type: "assign",
    processors: [fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "r" }, label: "log" })],
    channels: [{ id: "r", transport: "http", writers: [], readers: [end("log", "reader")], options: { endpoint: null, port, binary: true, waitHandled: null, responseCode: 201 } }],
  };
  await startLocal(s, assign);
  const status = await new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "PUT", path: "/" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end("abc");
  });
  assert.equal(status, 201);
  assert.deepEqual(logs([await s.recv().then(async function skip(m) { return m.type === "stats" ? skip(await s.recv()) : m; })]), ["log info log got <3 bytes>"]);
  await stop(s);
});

for (const transport of ["tcp", "websocket"]) {
  test(`a source that never ends its writer, read in another runner over ${transport}: both runs end, every message read`, { timeout: 30_000 }, async () => {
    const a = await session({ runnerId: "a" });
    const b = await session({ runnerId: "b" });
    const messages = Array.from({ length: 2000 }, (_, i) => `m${i}`);
    const assign = (processors) => ({
      type: "assign",
      processors,
      channels: [{ id: "c", transport, writers: [end("src", "writer", "a")], readers: [end("log", "reader", "b")] }],
    });
    const src = fn("src", A, "neverEnds", null, ["writer", "messages"], { writer: { "@writer": "c" }, messages });
    const log = fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "c" }, label: "log" });
    const endpoints = {};
    for (const [s, id, processors] of [[a, "a", [src]], [b, "b", [log]]]) {
      await s.recv();
      s.send({ type: "welcome", protocol: 1, run: "test" });
      s.send(assign(processors));
      let listening = await s.recv();
      while (listening.type === "stats") listening = await s.recv();
      endpoints[id] = listening.endpoint;
    }
    for (const s of [a, b]) s.send({ type: "connect", endpoints });
    const next = async (s) => {
      let m = await s.recv();
      while (m?.type === "stats") m = await s.recv();
      return m;
    };
    for (const s of [a, b]) assert.equal((await next(s)).type, "wired");
    for (const s of [a, b]) s.send({ type: "init" });
    for (const s of [a, b]) assert.equal((await next(s)).type, "initialised");
    for (const s of [a, b]) s.send({ type: "start" });
    const fromB = await untilDone(b, 1);
    const fromA = await untilDone(a, 1);
    assert.deepEqual(finished(fromA), ["src"]);
    assert.deepEqual(finished(fromB), ["log"]);
    const got = logs(fromB).filter((l) => l.startsWith("log info log got "));
    assert.equal(got.length, 2000);
    assert.equal(got.at(-1), "log info log got m1999");
    // The reader is in a runner that did not go idle: its end handler runs when the channel closes.
    assert.ok(logs(fromB).includes("log info log ended after 2000"), JSON.stringify(logs(fromB).slice(-3)));
    assert.equal((await stop(a)).exit.code, 0);
    assert.equal((await stop(b)).exit.code, 0);
  });
}

test("a JS channel is one stream: every end(), from writer or reader, runs all its end handlers (file-utils substitute chain)", { timeout: 30_000 }, async () => {
  const UTILS = dir("../node_modules/@rdfc/file-utils-processors-ts/lib/FileUtils.js");
  const sub = (id, input, output, source, replace) =>
    fn(id, UTILS, "substitute", null, ["reader", "writer", "source", "replace", "regexp"], { reader: { "@reader": input }, writer: { "@writer": output }, source, replace, regexp: false });
  const s = await session();
  const assign = {
    type: "assign",
    processors: [
      fn("src", A, "sendAll", null, ["writer", "messages"], { writer: { "@writer": "a" }, messages: ["foo bar"] }),
      sub("sub1", "a", "b", "foo", "f00"),
      sub("sub2", "b", "c", "ba", "BA"),
      fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "c" }, label: "log" }),
    ],
    channels: [
      channel("a", [end("src", "writer")], [end("sub1", "reader")]),
      channel("b", [end("sub1", "writer")], [end("sub2", "reader")]),
      channel("c", [end("sub2", "writer")], [end("log", "reader")]),
    ],
  };
  await startLocal(s, assign);
  const after = await untilDone(s, 4);
  const lines = logs(after)
    .filter((l) => l.includes("Writer closed") || l.startsWith("log "))
    .map((l) => (l.includes("Writer closed") ? `${l.split(" ")[0]} writer closed` : l));
  // As js-runner 1.0.0 prints it (compat/conn/cases/substitute): sub1's writer handler runs again when
  // sub2's handler ends sub2's reader, the stream sub1 writes.
  assert.deepEqual(lines, ["log info log got f00 BAr", "sub1 writer closed", "sub2 writer closed", "log info log ended after 1", "sub1 writer closed"]);
  await stop(s);
});

test("SIGTERM while function processors wait (an http reader listens for ever): bye, then exit 143", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const s = await session();
  const assign = {
    type: "assign",
    processors: [fn("log", A, "collect", null, ["reader", "label"], { reader: { "@reader": "r" }, label: "log" })],
    channels: [{ id: "r", transport: "http", writers: [], readers: [end("log", "reader")], options: { endpoint: "127.0.0.1", port, binary: null, waitHandled: null, responseCode: null } }],
  };
  await startLocal(s, assign);
  // The server listens once the runner has said initialised; a request proves the run is under way.
  await new Promise((resolve, reject) => http.request({ host: "127.0.0.1", port, method: "POST" }, (res) => res.resume().on("end", resolve)).on("error", reject).end("x"));
  s.child.kill("SIGTERM");
  const rest = [];
  for (let m = await s.recv(); m !== null; m = await s.recv()) rest.push(m.type);
  assert.equal(rest.at(-1), "bye");
  assert.equal((await s.done()).code, 143);
});
