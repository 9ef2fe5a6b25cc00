// Channel conformance: the cases of channels/tests/conformance.rs (and the wrong-secret case of
// channels/tests/network.rs), each run over every transport this runner implements: memory (writer and
// reader in one runner), TCP and WebSocket (a writer connected to a reader's endpoint over a real loopback
// socket bound to port 0). Writers are the runner's ChannelWriter, readers its Inbox behind the
// RDF-Connect reader API that processors use.
//
// Every test has a timeout: a hang is a failure, not a stalled suite.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Inbox, EMPTY, QUEUE_BYTES } from "../src/inbox.mjs";
import { ChannelWriter, MemorySink } from "../src/writer.mjs";
import { Endpoint } from "../src/endpoint.mjs";
import { connectTcp } from "../src/tcp.mjs";
import { connectWs } from "../src/ws.mjs";
import { RdfcReader } from "../src/api-rdfc.mjs";
import { KIND, controlFrame, helloJson } from "../src/frame.mjs";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

const SECRET = "per-run-secret-for-tests";
const PEER = fileURLToPath(new URL("../test-support/peer.mjs", import.meta.url));
const TRANSPORTS = ["memory", "tcp", "websocket"];
const NETWORK = ["tcp", "websocket"];

const endStats = () => ({ messages: 0, bytes: 0, blocked_us: 0 });
const connect = (transport, port, channel, writer, secret = SECRET) =>
  (transport === "websocket" ? connectWs : connectTcp)({ host: "127.0.0.1", port, secret, channel, writer });
const turn = () => new Promise(setImmediate);

/**
 * `writers` writers joined to `readers` readers of one channel. Over the network each reader has its own
 * endpoint, as if in a runner of its own; the writers connect to every one of them.
 */
async function rig(t, transport, channel, { writers = 1, readers = 1 } = {}) {
  const log = [];
  // Even when the test fails: a listening endpoint would keep the test process alive.
  t.after(() => endpoints.forEach(({ endpoint }) => endpoint.close()));
  const inboxes = [];
  const endpoints = [];
  for (let r = 0; r < readers; r++) {
    const inbox = new Inbox(channel, writers, endStats());
    inboxes.push(inbox);
    if (transport !== "memory") {
      const endpoint = new Endpoint(SECRET, (line) => log.push(line));
      endpoint.register(channel, [inbox], writers);
      const { port } = await endpoint.listen("127.0.0.1", 0);
      endpoints.push({ endpoint, port });
    }
  }
  const channelWriters = [];
  for (let w = 0; w < writers; w++) {
    const writer = new ChannelWriter(channel, `w${w}`, endStats());
    for (let r = 0; r < readers; r++) {
      writer.sinks.push(transport === "memory" ? new MemorySink(inboxes[r]) : await connect(transport, endpoints[r].port, channel, `w${w}`));
    }
    channelWriters.push(writer);
  }
  return {
    writers: channelWriters,
    readers: inboxes.map((inbox) => new RdfcReader(inbox)),
    inboxes,
    endpoints,
    log,
  };
}

/** A numbered message: the writer's index, then the sequence number. */
function numbered(writer, seq) {
  const message = Buffer.allocUnsafe(9);
  message[0] = writer;
  message.writeDoubleBE(seq, 1);
  return message;
}
const writerOf = (message) => message[0];
const seqOf = (message) => message.readDoubleBE(1);

/** Resolves with true if `promise` is still pending after the event loop has gone round `turns` times. */
async function pending(promise, turns = 20) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < turns; i++) await turn();
  return !settled;
}

/** Everything a reader yields until it ends, as Buffers. */
async function drain(reader) {
  const all = [];
  for await (const message of reader.buffers()) all.push(Buffer.from(message));
  return all;
}

function spawnPeer(t, args) {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  const lines = [];
  let waiter = null;
  let partial = "";
  child.stdout.on("data", (chunk) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop();
    lines.push(...parts);
    waiter?.();
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
  const line = async (expected) => {
    for (;;) {
      const at = expected instanceof RegExp ? lines.findIndex((l) => expected.test(l)) : lines.indexOf(expected);
      if (at >= 0) return lines.splice(0, at + 1).at(-1);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`peer exited before saying ${expected}`);
      await new Promise((resolve) => (waiter = resolve));
    }
  };
  return { child, line, exited };
}

for (const transport of TRANSPORTS) {
  describe(`${transport} channel`, () => {
    test("1,000,000 messages arrive in order, exactly once", { timeout: 60_000 }, async (t) => {
      const N = 1_000_000;
      const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:order");
      const producer = (async () => {
        for (let seq = 0; seq < N; seq++) await writer.send(numbered(0, seq));
        await writer.close();
      })();
      let expected = 0;
      for await (const message of reader.buffers()) {
        if (seqOf(message) !== expected || message.length !== 9) {
          assert.fail(`message ${expected}: got sequence number ${seqOf(message)} (${message.length} bytes): lost, duplicated or out of order`);
        }
        expected++;
      }
      await producer;
      assert.equal(expected, N, "exact count");
      assert.equal(writer.stats.messages, N);
      assert.equal(writer.stats.bytes, 9 * N);
    });

    test("close: the reader ends after the last message, and a channel closed empty ends its reader", { timeout: 20_000 }, async (t) => {
      {
        const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:close");
        for (let i = 0; i < 3; i++) await writer.send(Uint8Array.of(i));
        await writer.close();
        assert.deepEqual(await drain(reader), [Buffer.of(0), Buffer.of(1), Buffer.of(2)]);
        // Stays ended.
        assert.deepEqual(await drain(reader), []);
        await assert.rejects(writer.send("late"), { message: "channel urn:test:close: writer w0 is closed; nothing more can be sent" });
        }
      {
        const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:close-empty");
        await writer.close();
        assert.deepEqual(await drain(reader), []);
        }
    });

    test("fan-in: three writers, order kept per writer, the reader ends when all have closed", { timeout: 30_000 }, async (t) => {
      const N = 100_000;
      const { writers, readers: [reader] } = await rig(t, transport, "urn:test:fan-in", { writers: 3 });
      const producers = writers.map(async (writer, w) => {
        for (let seq = 0; seq < N; seq++) await writer.send(numbered(w, seq));
        // Writer 2 sends everything but does not close yet.
        if (w !== 2) await writer.close();
      });
      const iterator = reader.buffers()[Symbol.asyncIterator]();
      const next = [0, 0, 0];
      for (let i = 0; i < 3 * N; i++) {
        const { done, value } = await iterator.next();
        assert.equal(done, false, `the reader ended after ${i} of ${3 * N} messages`);
        const w = writerOf(value);
        if (seqOf(value) !== next[w]) assert.fail(`writer ${w}: got ${seqOf(value)}, expected ${next[w]}`);
        next[w]++;
      }
      assert.deepEqual(next, [N, N, N], "exact count per writer");
      await Promise.all(producers);
      // Every message is in, two writers closed, one still open: the reader must not end.
      const end = iterator.next();
      assert.equal(await pending(end), true, "the reader ended before its last writer closed");
      await writers[2].close();
      assert.deepEqual(await end, { done: true, value: undefined });
    });

    test("fan-out: every reader gets every message, in order", { timeout: 30_000 }, async (t) => {
      const N = 100_000;
      const { writers: [writer], readers } = await rig(t, transport, "urn:test:fan-out", { readers: 2 });
      const consumers = readers.map(async (reader) => {
        let expected = 0;
        for await (const message of reader.buffers()) {
          if (seqOf(message) !== expected) assert.fail(`fan-out: got ${seqOf(message)}, expected ${expected}`);
          expected++;
        }
        return expected;
      });
      for (let seq = 0; seq < N; seq++) await writer.send(numbered(0, seq));
      await writer.close();
      assert.deepEqual(await Promise.all(consumers), [N, N]);
    });

    test("text and bytes arrive as sent", { timeout: 20_000 }, async (t) => {
      const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:kinds");
      const sent = [
        "",
        "héllo, wörld ✓ 🎉",
        new Uint8Array(0),
        Uint8Array.of(0, 1, 2, 255, 254),
        "riffle ✓ ".repeat(20_000),
        Uint8Array.from({ length: 200_000 }, (_, i) => i % 251),
        Buffer.from("\xff\xfe not utf-8", "latin1"),
      ];
      for (const message of sent) await writer.send(message);
      await writer.close();
      // Compared as kind and SHA-256 of the content, so that a failure prints a readable diff.
      const summary = (kind, content) => `${kind} ${createHash("sha256").update(content).digest("hex").slice(0, 16)}`;
      const got = [];
      for await (const any of reader.anys()) got.push("string" in any ? summary("text", any.string) : summary("bytes", any.buffer));
      assert.deepEqual(got, sent.map((m) => (typeof m === "string" ? summary("text", m) : summary("bytes", m))));
    });

    test("a message of 256 MiB", { timeout: 30_000 }, async (t) => {
      const LEN = 256 << 20;
      const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:big");
      const data = Buffer.allocUnsafe(LEN);
      const words = new Uint32Array(data.buffer, data.byteOffset, LEN / 4);
      for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761);
      const digest = createHash("sha256").update(data).digest("hex");
      const producer = (async () => {
        await writer.send(data);
        await writer.send("after");
        await writer.close();
      })();
      const iterator = reader.anys()[Symbol.asyncIterator]();
      const big = (await iterator.next()).value.buffer;
      assert.equal(big.byteLength, LEN);
      assert.equal(createHash("sha256").update(big).digest("hex"), digest);
      assert.deepEqual((await iterator.next()).value, { string: "after" });
      assert.equal((await iterator.next()).done, true);
      await producer;
    });

    test("a slow reader holds the writer back: bounded memory, blocked_us counts the wait", { timeout: 30_000 }, async (t) => {
      // 4,096 messages of 64 KiB (256 MiB) to a reader that reads nothing until the writer has stalled.
      // Each message is a fresh buffer, so a queue without a bound would keep all 256 MiB alive.
      const N = 4096;
      const SIZE = 64 << 10;
      // The bound: the reader's queue (QUEUE_BYTES, 8 MiB) plus what is in flight in user space (the TCP
      // writer's batch, a message being assembled, socket buffers above their high-water marks), for
      // which 8 MiB more is allowed. The kernel's socket buffers are not this process's memory.
      const BOUND = QUEUE_BYTES + (8 << 20);
      const { writers: [writer], readers: [reader] } = await rig(t, transport, "urn:test:backpressure");
      gc();
      const before = process.memoryUsage().arrayBuffers;
      let sent = 0;
      const producer = (async () => {
        for (let i = 0; i < N; i++) {
          await writer.send(Buffer.alloc(SIZE, i & 0xff));
          sent++;
        }
        await writer.close();
      })();
      // Stalled: no send completed while the event loop went round 200 times and 50 ms passed.
      let last = -1;
      let quietTurns = 0;
      let quietSince = performance.now();
      while (quietTurns < 200 || performance.now() - quietSince < 50) {
        await turn();
        if (sent !== last) {
          last = sent;
          quietTurns = 0;
          quietSince = performance.now();
        } else quietTurns++;
      }
      const heldFrom = performance.now();
      gc();
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.ok(sent < N / 4, `the writer sent ${sent} of ${N} messages of 64 KiB to a reader that reads nothing: no backpressure`);
      if (transport === "memory") assert.ok(sent <= QUEUE_BYTES / SIZE, `memory queue bound: ${sent} messages`);
      assert.ok(grown < BOUND, `memory grew by ${grown} bytes while the writer was held back (bound ${BOUND})`);
      const heldUs = (performance.now() - heldFrom) * 1000;
      let count = 0;
      for await (const message of reader.buffers()) {
        assert.equal(message.byteLength, SIZE);
        assert.equal(message[SIZE - 1], count & 0xff, `message ${count}`);
        count++;
      }
      await producer;
      assert.equal(count, N, "everything arrives once the reader drains");
      assert.ok(Number.isInteger(writer.stats.blocked_us), `blocked_us ${writer.stats.blocked_us}`);
      assert.ok(writer.stats.blocked_us >= heldUs, `blocked_us ${writer.stats.blocked_us} < the ${heldUs} µs the test held the writer back`);
    });
  });
}

describe("memory channel, peers that go away", () => {
  test("a reader that cancels does not hold its writer, which closes cleanly", { timeout: 20_000 }, async (t) => {
    const { writers: [writer], readers: [reader], inboxes: [inbox] } = await rig(t, "memory", "urn:test:cancel");
    await writer.send("first");
    reader.cancel();
    for (let i = 0; i < 100_000; i++) await writer.send(Buffer.alloc(1024));
    await writer.close();
    assert.equal(inbox.take() === EMPTY, false);
    assert.deepEqual(await drain(reader), []);
  });
});

for (const transport of NETWORK) {
  describe(`${transport} channel, peers that go away or do not belong`, () => {
    test("a writer that vanishes: the reader gets what was sent, then an error naming the channel and writer", { timeout: 20_000 }, async (t) => {
      const endpoint = new Endpoint(SECRET, () => {});
      t.after(() => endpoint.close());
      const inbox = new Inbox("urn:test:writer-vanishes", 1, endStats());
      endpoint.register("urn:test:writer-vanishes", [inbox], 1);
      const { port } = await endpoint.listen("127.0.0.1", 0);
      const peer = spawnPeer(t, ["writer", transport, "127.0.0.1", String(port), SECRET, "urn:test:writer-vanishes", "w0", "10"]);
      await peer.line("sent");
      const reader = new RdfcReader(inbox);
      const iterator = reader.buffers()[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) assert.deepEqual(Buffer.from((await iterator.next()).value), Buffer.of(i));
      peer.child.kill("SIGKILL");
      assert.equal(await peer.exited, "SIGKILL");
      await assert.rejects(iterator.next(), {
        name: "ChannelError",
        message: "channel urn:test:writer-vanishes: writer w0 vanished without closing (end of stream without a close frame)",
      });
    });

    test("a reader that vanishes: the writer gets an error naming the channel and writer, not a hang", { timeout: 20_000 }, async (t) => {
      const peer = spawnPeer(t, ["reader", SECRET, "urn:test:reader-vanishes"]);
      const port = Number(await peer.line(/^\d+$/));
      const writer = new ChannelWriter("urn:test:reader-vanishes", "w0", endStats());
      writer.sinks.push(await connect(transport, port, "urn:test:reader-vanishes", "w0"));
      await writer.send("first");
      await peer.line("got 1");
      peer.child.kill("SIGKILL");
      assert.equal(await peer.exited, "SIGKILL");
      let error = null;
      for (let i = 0; i < 10_000_000 && error === null; i++) {
        await writer.send(Buffer.alloc(64)).catch((e) => (error = e));
      }
      assert.notEqual(error, null, "ten million sends to a vanished reader all succeeded");
      const expected = /^channel urn:test:reader-vanishes: the reader of writer w0 vanished \((the reader closed the connection|the connection ended without a close frame|connection to the reader failed: (read|write) (ECONNRESET|EPIPE))\)$/;
      assert.match(error.message, expected);
      await assert.rejects(writer.close(), { message: error.message });
    });

    test("a connection with a wrong secret is closed without an accept; the run goes on", { timeout: 20_000 }, async (t) => {
      const log = [];
      const endpoint = new Endpoint(SECRET, (line) => log.push(line));
      t.after(() => endpoint.close());
      const bystanderInbox = new Inbox("urn:test:bystander", 1, endStats());
      const secretInbox = new Inbox("urn:test:secret", 1, endStats());
      endpoint.register("urn:test:bystander", [bystanderInbox], 1);
      endpoint.register("urn:test:secret", [secretInbox], 1);
      const { port } = await endpoint.listen("127.0.0.1", 0);
      const bystander = new ChannelWriter("urn:test:bystander", "good", endStats());
      bystander.sinks.push(await connect(transport, port, "urn:test:bystander", "good"));
      await bystander.send("before");

      // Raw, at the byte level: nothing is told to a peer without the secret.
      if (transport === "tcp") {
        for (const hello of [helloJson("wrong", "urn:test:secret", "intruder"), JSON.stringify({ version: 1, channel: "urn:test:secret", writer: "x" })]) {
          const socket = net.connect({ host: "127.0.0.1", port });
          const answer = [];
          socket.on("data", (chunk) => answer.push(chunk));
          socket.write(controlFrame(KIND.HELLO, hello));
          await new Promise((resolve) => socket.on("close", resolve));
          assert.equal(Buffer.concat(answer).length, 0, "the endpoint answered a hello without the secret");
        }
      } else {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        const messages = [];
        ws.on("message", (data) => messages.push(data.toString()));
        ws.on("open", () => ws.send(helloJson("wrong", "urn:test:secret", "intruder")));
        const [code, reason] = await new Promise((resolve) => ws.on("close", (c, r) => resolve([c, r.toString()])));
        assert.deepEqual(messages, [], "the endpoint answered a hello without the secret");
        assert.deepEqual([code, reason], [1008, "refused"]);
      }
      // Through the API: a clear error naming the channel and writer.
      const why = transport === "tcp" ? "the endpoint closed the connection without an answer" : "refused";
      await assert.rejects(connect(transport, port, "urn:test:secret", "w", "wrong"), {
        message: `channel urn:test:secret: the reader endpoint refused writer w: ${why}`,
      });
      // The rightful writer still gets in, and the one connected before is unharmed.
      const rightful = new ChannelWriter("urn:test:secret", "w", endStats());
      rightful.sinks.push(await connect(transport, port, "urn:test:secret", "w"));
      await rightful.send("hi");
      await rightful.close();
      assert.deepEqual(await drain(new RdfcReader(secretInbox)), [Buffer.from("hi")]);
      await bystander.send("after");
      await bystander.close();
      assert.deepEqual(await drain(new RdfcReader(bystanderInbox)), [Buffer.from("before"), Buffer.from("after")]);
      const refusals = [
        'refused connection: wrong secret in the hello of writer "intruder" for channel "urn:test:secret"',
        ...(transport === "tcp" ? ["refused connection: the hello has no string secret"] : []),
        'refused connection: wrong secret in the hello of writer "w" for channel "urn:test:secret"',
      ];
      assert.deepEqual(log, refusals);
    });
  });
}
