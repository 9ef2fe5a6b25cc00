// Encrypted runs (a wss:// control URL): the run's identity out of the secret file, data channels over TLS on
// both framings, pinning of the run's certificate by every client, an encrypted endpoint facing plaintext
// peers, the control connection over wss://, and the runner's refusal to start without its identity.
// Real sockets on port 0; every wait is for an event.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import { spawn } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { Inbox } from "../src/inbox.mjs";
import { ChannelWriter } from "../src/writer.mjs";
import { Endpoint } from "../src/endpoint.mjs";
import { connectTcp } from "../src/tcp.mjs";
import { connectWs } from "../src/ws.mjs";
import { RdfcReader } from "../src/api-rdfc.mjs";
import { KIND, controlFrame, helloJson } from "../src/frame.mjs";
import { configFromEnv, EncryptedRunError } from "../src/session.mjs";
import { IdentityError, RunTls, identityLine, isEncrypted, parseIdentity } from "../src/tls.mjs";

const FIXTURES = fileURLToPath(new URL("../../../protocol/fixtures/tls/", import.meta.url));
const RUN_SECRET_FILE = join(FIXTURES, "run.secret");
const OTHER_SECRET_FILE = join(FIXTURES, "other.secret");
const RUN_TEXT = readFileSync(RUN_SECRET_FILE, "utf8");
const OTHER_TEXT = readFileSync(OTHER_SECRET_FILE, "utf8");
const FIXTURE_SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const RUN = new RunTls(parseIdentity(RUN_TEXT));
const OTHER = new RunTls(parseIdentity(OTHER_TEXT));
const pemOf = (text, label) => text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\n`))[0];
const serverOptions = (text) => ({ cert: pemOf(text, "CERTIFICATE"), key: pemOf(text, "PRIVATE KEY") });

const BIN = fileURLToPath(new URL("../bin/riffle-runner-js.mjs", import.meta.url));
const PROCESSORS = pathToFileURL(fileURLToPath(new URL("../test-support/processors.mjs", import.meta.url))).href;
const NETWORK = ["tcp", "websocket"];
const endStats = () => ({ messages: 0, bytes: 0, blocked_us: 0 });
const connect = (transport, options) => (transport === "websocket" ? connectWs : connectTcp)({ host: "127.0.0.1", ...options });

/** An encrypted endpoint with the given channels registered (one writer each), closed after the test. */
async function encryptedEndpoint(t, channels, identity = RUN) {
  const log = [];
  const endpoint = new Endpoint(FIXTURE_SECRET, (line) => log.push(line), { tls: identity });
  t.after(() => endpoint.close());
  const inboxes = {};
  for (const channel of channels) {
    inboxes[channel] = new Inbox(channel, 1, endStats());
    endpoint.register(channel, [inboxes[channel]], 1);
  }
  const { port } = await endpoint.listen("127.0.0.1", 0);
  return { endpoint, port, log, inboxes };
}

async function drain(inbox) {
  const all = [];
  for await (const message of new RdfcReader(inbox).buffers()) all.push(Buffer.from(message));
  return all;
}

/**
 * A TLS server presenting `text`'s certificate that counts the application bytes each connection sends it;
 * `spoken()` resolves when one has sent some, `closed()` once every connection so far has closed.
 */
async function countingTlsServer(t, text) {
  const received = [];
  let spoke = null;
  const spoken = new Promise((resolve) => (spoke = resolve));
  const closes = [];
  const sockets = [];
  const server = tls.createServer(serverOptions(text), (socket) => {
    sockets.push(socket);
    socket.on("data", (chunk) => {
      received.push(chunk.length);
      spoke();
    });
    socket.on("error", () => {});
  });
  // Raw connections: a client that gives up after the handshake may close before the server is done with it.
  server.on("connection", (socket) => closes.push(new Promise((resolve) => socket.on("close", resolve))));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return {
    port: server.address().port,
    connections: () => closes.length,
    bytes: () => received.reduce((sum, n) => sum + n, 0),
    spoken: () => spoken,
    closed: () => Promise.all(closes),
    hangUp: () => sockets.forEach((socket) => socket.destroy()),
  };
}

describe("the run's identity", () => {
  test("parseIdentity reads the certificate (its DER) and the PKCS#8 key out of a secret file", () => {
    const identity = parseIdentity(RUN_TEXT);
    const x509 = new X509Certificate(pemOf(RUN_TEXT, "CERTIFICATE"));
    assert.deepEqual(identity.certificate, x509.raw);
    assert.equal(x509.subject, "CN=riffle-run");
    const key = createPrivateKey(identity.keyPem);
    assert.deepEqual([key.asymmetricKeyType, key.asymmetricKeyDetails.namedCurve], ["ec", "prime256v1"]);
    assert.ok(x509.checkPrivateKey(key));
    assert.equal(identity.certificatePem, pemOf(RUN_TEXT, "CERTIFICATE"));
    assert.equal(identity.keyPem, pemOf(RUN_TEXT, "PRIVATE KEY"));
    assert.notDeepEqual(parseIdentity(OTHER_TEXT).certificate, identity.certificate);
  });

  test("parseIdentity ignores text between blocks and names what is missing", () => {
    const cert = pemOf(RUN_TEXT, "CERTIFICATE");
    const key = pemOf(RUN_TEXT, "PRIVATE KEY");
    assert.deepEqual(parseIdentity(`secret\nsome words\n${key}between\n${cert}after`).certificate, parseIdentity(RUN_TEXT).certificate);
    assert.throws(() => parseIdentity(`${FIXTURE_SECRET}\n`), new IdentityError("holds no certificate"));
    assert.throws(() => parseIdentity(`${FIXTURE_SECRET}\n${key}`), new IdentityError("holds no certificate"));
    assert.throws(() => parseIdentity(`${FIXTURE_SECRET}\n${cert}`), new IdentityError("holds no private key"));
    // A PKCS#1 "EC PRIVATE KEY" block is not the PKCS#8 block the file holds.
    assert.throws(() => parseIdentity(`${cert}${key.replaceAll("PRIVATE KEY", "EC PRIVATE KEY")}`), new IdentityError("holds no private key"));
  });

  test("a RunTls accepts only the run's certificate", () => {
    assert.equal(isEncrypted("wss://127.0.0.1:1"), true);
    assert.equal(isEncrypted("ws://127.0.0.1:1"), false);
    assert.deepEqual(RUN.certificate, parseIdentity(RUN_TEXT).certificate);
    const peer = (text) => ({ getPeerX509Certificate: () => (text === null ? undefined : new X509Certificate(pemOf(text, "CERTIFICATE"))) });
    assert.equal(RUN.presentsRunCertificate(peer(RUN_TEXT)), true);
    assert.equal(RUN.presentsRunCertificate(peer(OTHER_TEXT)), false);
    assert.equal(RUN.presentsRunCertificate(peer(null)), false);
    // A certificate with another run's key: TLS refuses the pair before any connection.
    const mixed = { ...parseIdentity(RUN_TEXT), keyPem: parseIdentity(OTHER_TEXT).keyPem };
    assert.throws(() => new RunTls(mixed), /key values mismatch/);
  });

  test("configFromEnv: wss:// takes the identity from RIFFLE_SECRET_FILE, ws:// none", () => {
    const env = { RIFFLE_CONTROL_URL: "wss://127.0.0.1:1", RIFFLE_RUNNER_ID: "javascript", RIFFLE_SECRET_FILE: RUN_SECRET_FILE };
    const encrypted = configFromEnv(env);
    assert.equal(encrypted.secret, FIXTURE_SECRET);
    assert.deepEqual(encrypted.tls.certificate, RUN.certificate);
    // RIFFLE_SECRET still gives the secret; the certificate comes from the file all the same.
    const both = configFromEnv({ ...env, RIFFLE_SECRET: "from-the-environment" });
    assert.equal(both.secret, "from-the-environment");
    assert.deepEqual(both.tls.certificate, RUN.certificate);
    assert.equal(configFromEnv({ ...env, RIFFLE_CONTROL_URL: "ws://127.0.0.1:1" }).tls, null);
    const { RIFFLE_SECRET_FILE, ...unset } = env;
    assert.throws(() => configFromEnv({ ...unset, RIFFLE_SECRET: "s" }), new EncryptedRunError(identityLine("is not set")));
  });
});

for (const transport of NETWORK) {
  describe(`${transport} channel in an encrypted run`, () => {
    test("200,000 messages arrive over TLS in order, exactly once, with text and large bytes", { timeout: 60_000 }, async (t) => {
      const N = 200_000;
      const CHANNEL = "urn:test:tls-order";
      const { port, log, inboxes } = await encryptedEndpoint(t, [CHANNEL]);
      const writer = new ChannelWriter(CHANNEL, "w0", endStats());
      const sink = await connect(transport, { port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "w0" });
      assert.equal(sink.socket.encrypted, true);
      assert.match(sink.socket.getProtocol(), /^TLSv1\.[23]$/);
      writer.sinks.push(sink);
      const big = Buffer.alloc(1 << 20, 0xab);
      const producer = (async () => {
        for (let seq = 0; seq < N; seq++) {
          const message = Buffer.allocUnsafe(8);
          message.writeDoubleBE(seq, 0);
          await writer.send(message);
        }
        await writer.send(big);
        await writer.send("héllo ✓");
        await writer.close();
      })();
      const iterator = new RdfcReader(inboxes[CHANNEL]).anys()[Symbol.asyncIterator]();
      for (let expected = 0; expected < N; expected++) {
        const { done, value } = await iterator.next();
        assert.equal(done, false, `the reader ended after ${expected} of ${N} messages`);
        if (value.buffer.length !== 8 || value.buffer.readDoubleBE(0) !== expected) {
          assert.fail(`message ${expected}: got ${value.buffer.readDoubleBE(0)} (${value.buffer.length} bytes): lost, duplicated or out of order`);
        }
      }
      assert.ok(big.equals((await iterator.next()).value.buffer));
      assert.deepEqual((await iterator.next()).value, { string: "héllo ✓" });
      assert.equal((await iterator.next()).done, true);
      await producer;
      assert.equal(writer.stats.messages, N + 2);
      assert.deepEqual(log, []);
    });

    test("a writer pinned to run.secret refuses an endpoint presenting other.secret's certificate before sending a byte", { timeout: 20_000 }, async (t) => {
      const CHANNEL = "urn:test:tls-pinned";
      // The refusal as a writer sees it from an endpoint of the other run...
      const other = await encryptedEndpoint(t, [CHANNEL], OTHER);
      const refusal = (p) => ({
        name: "ChannelError",
        message: `channel ${CHANNEL}: cannot connect to 127.0.0.1:${p}: the peer at 127.0.0.1:${p} did not present the run's certificate`,
      });
      await assert.rejects(connect(transport, { port: other.port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "w0" }), refusal(other.port));
      // ...and, byte for byte, from a TLS server of that certificate: not one byte of application data
      // (no hello, no secret, for WebSocket not even the upgrade request) reached it.
      const server = await countingTlsServer(t, OTHER_TEXT);
      await assert.rejects(connect(transport, { port: server.port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "w0" }), refusal(server.port));
      await server.closed();
      assert.equal(server.connections(), 1);
      assert.equal(server.bytes(), 0);
      // The same writer talks to a server presenting the run's certificate: its hello goes out.
      const good = await countingTlsServer(t, RUN_TEXT);
      const attempt = connect(transport, { port: good.port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "w0" });
      await good.spoken();
      assert.ok(good.bytes() > 0);
      good.hangUp();
      await assert.rejects(attempt, { name: "ChannelError" });
    });

    test("a writer of an encrypted run refuses a plaintext endpoint; the endpoint sees a TLS handshake, never a hello", { timeout: 20_000 }, async (t) => {
      const CHANNEL = "urn:test:tls-plain-endpoint";
      const log = [];
      const endpoint = new Endpoint(FIXTURE_SECRET, (line) => log.push(line));
      t.after(() => endpoint.close());
      endpoint.register(CHANNEL, [new Inbox(CHANNEL, 1, endStats())], 1);
      const { port } = await endpoint.listen("127.0.0.1", 0);
      await assert.rejects(connect(transport, { port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "w0" }), (e) => {
        assert.equal(e.name, "ChannelError");
        assert.ok(e.message.startsWith(`channel ${CHANNEL}: cannot connect to 127.0.0.1:${port}: TLS handshake failed: `), e.message);
        return true;
      });
      assert.deepEqual(log, ["refused connection: garbage first byte 0x16 (neither a frame nor an HTTP upgrade)"]);
    });
  });
}

test("plaintext clients to an encrypted endpoint are closed and logged; a writer connected before and the next good one are unharmed", { timeout: 20_000 }, async (t) => {
  const BYSTANDER = "urn:test:tls-bystander";
  const CHANNEL = "urn:test:tls-after-plain";
  const { port, log, inboxes } = await encryptedEndpoint(t, [BYSTANDER, CHANNEL]);
  const bystander = new ChannelWriter(BYSTANDER, "early", endStats());
  bystander.sinks.push(await connectTcp({ host: "127.0.0.1", port, secret: FIXTURE_SECRET, tls: RUN, channel: BYSTANDER, writer: "early" }));
  await bystander.send("before");

  // A plaintext TCP-framing writer with the right secret: closed without a byte of answer.
  const socket = net.connect({ host: "127.0.0.1", port });
  const answer = [];
  socket.on("data", (chunk) => answer.push(chunk));
  socket.on("error", () => {});
  socket.write(controlFrame(KIND.HELLO, helloJson(FIXTURE_SECRET, CHANNEL, "plain")));
  await new Promise((resolve) => socket.on("close", resolve));
  assert.equal(Buffer.concat(answer).length, 0, "the encrypted endpoint answered a plaintext hello");
  // The runner's own plaintext writers, both framings.
  await assert.rejects(connectTcp({ host: "127.0.0.1", port, secret: FIXTURE_SECRET, channel: CHANNEL, writer: "plain-tcp" }), {
    message: `channel ${CHANNEL}: the reader endpoint refused writer plain-tcp: the endpoint closed the connection without an answer`,
  });
  await assert.rejects(connectWs({ host: "127.0.0.1", port, secret: FIXTURE_SECRET, channel: CHANNEL, writer: "plain-ws" }), (e) => {
    assert.match(e.message, new RegExp(`^channel ${CHANNEL}: (cannot connect to 127\\.0\\.0\\.1:${port}: (socket hang up|read ECONNRESET)|the reader endpoint refused writer plain-ws: the endpoint closed the connection without an answer)$`));
    return true;
  });
  // Something that starts like TLS and is not.
  const junk = net.connect({ host: "127.0.0.1", port });
  junk.on("error", () => {});
  junk.resume(); // reads, so that it sees the endpoint close
  junk.write(Buffer.concat([Buffer.of(0x16, 0x03, 0x01, 0x00, 0x08), Buffer.alloc(8, 0xff)]));
  await new Promise((resolve) => junk.on("close", resolve));

  const good = new ChannelWriter(CHANNEL, "good", endStats());
  good.sinks.push(await connectWs({ host: "127.0.0.1", port, secret: FIXTURE_SECRET, tls: RUN, channel: CHANNEL, writer: "good" }));
  await good.send("hi");
  await good.close();
  assert.deepEqual(await drain(inboxes[CHANNEL]), [Buffer.from("hi")]);
  await bystander.send("after");
  await bystander.close();
  assert.deepEqual(await drain(inboxes[BYSTANDER]), [Buffer.from("before"), Buffer.from("after")]);
  const plain = (byte) => `refused connection: not a TLS handshake (first byte ${byte}); every connection of this encrypted run must be TLS`;
  assert.deepEqual(log.slice(0, 3), [plain("0x00"), plain("0x00"), plain("0x47")]);
  assert.equal(log.length, 4, log.join("\n"));
  assert.match(log[3], /^refused connection: TLS handshake failed: \S/);
});

// ------------------------------------------------------------------------------------------------------
// The runner process: its control connection over wss:// and its refusal to start without an identity

/** A fake orchestrator over wss:// presenting `text`'s certificate; `upgrades` counts WebSocket upgrades. */
async function tlsOrchestrator(t, text) {
  const server = https.createServer(serverOptions(text));
  const wss = new WebSocketServer({ server });
  let bytes = 0;
  let tcpConnections = 0;
  const closes = [];
  server.on("connection", (socket) => {
    tcpConnections++;
    closes.push(new Promise((resolve) => socket.on("close", resolve)));
  });
  server.on("secureConnection", (socket) => socket.on("data", (chunk) => (bytes += chunk.length)));
  const connections = [];
  let waiter = null;
  wss.on("connection", (ws) => {
    // Listened to at once: the hello may come before the test asks for this connection.
    connections.push(messages(ws));
    waiter?.();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
    server.closeAllConnections();
  });
  const nextConnection = async () => {
    while (connections.length === 0) await new Promise((resolve) => (waiter = resolve));
    return connections.shift();
  };
  return {
    url: `wss://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    nextConnection,
    wss,
    connections: () => tcpConnections,
    bytes: () => bytes,
    closed: () => Promise.all(closes),
  };
}

/** The messages of one control connection, in order. */
function messages(ws) {
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
  /** The next message other than stats, which come whenever counters change. */
  const next = async () => {
    for (;;) {
      const message = await recv();
      if (message?.type !== "stats") return message;
    }
  };
  return { ws, recv, until, next, send: (message) => ws.send(JSON.stringify(message)) };
}

/** The runner's process, started with exactly `env`. */
function runner(t, env) {
  const child = spawn(process.execPath, [BIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
  return { child, exited };
}

/** The environment of a runner of the encrypted run: its secret and identity from run.secret alone. */
function runnerEnv(url, id = "javascript") {
  const env = { ...process.env, RIFFLE_CONTROL_URL: url, RIFFLE_SECRET_FILE: RUN_SECRET_FILE, RIFFLE_RUNNER_ID: id };
  delete env.RIFFLE_SECRET;
  return env;
}

test("the control client over wss:// sends its hello with the secret to a server presenting the run's certificate", { timeout: 20_000 }, async (t) => {
  const orchestrator = await tlsOrchestrator(t, RUN_TEXT);
  const { exited } = runner(t, runnerEnv(orchestrator.url));
  const control = await orchestrator.nextConnection();
  const hello = await control.recv();
  assert.deepEqual({ ...hello, pid: 0 }, { type: "hello", protocol: 1, secret: FIXTURE_SECRET, runner: "javascript", language: "javascript", pid: 0 });
  assert.equal(control.ws._socket.encrypted, true);
  control.send({ type: "refused", reason: "wrong secret" });
  const { code, stderr } = await exited;
  assert.equal(code, 1);
  assert.equal(stderr, "riffle-runner-js: the orchestrator refused this runner: wrong secret\n");
});

test("the control client refuses a wss:// server presenting other.secret's certificate, before the upgrade request", { timeout: 20_000 }, async (t) => {
  const orchestrator = await tlsOrchestrator(t, OTHER_TEXT);
  let upgrades = 0;
  orchestrator.wss.on("connection", () => upgrades++);
  const { exited } = runner(t, runnerEnv(orchestrator.url));
  const { code, stderr } = await exited;
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `riffle-runner-js: cannot reach the orchestrator at ${orchestrator.url}: the peer at 127.0.0.1:${orchestrator.port} did not present the run's certificate\n`,
  );
  assert.equal(upgrades, 0);
  // The handshake happened (that is how the certificate was seen); not one byte of HTTP followed it.
  await orchestrator.closed();
  assert.equal(orchestrator.connections(), 1);
  assert.equal(orchestrator.bytes(), 0);
});

test("an encrypted run end to end: two runner processes over wss://, a TCP and a WebSocket channel between them", { timeout: 60_000 }, async (t) => {
  const N = 20_000;
  const SIZE = 100;
  const channel = (id, transport, writer, reader) => ({
    id,
    transport,
    writers: [{ processor: writer, argument: "writer", runner: "a" }],
    readers: [{ processor: reader, argument: "reader", runner: "b" }],
  });
  const processor = (id, clazz, args) => ({ id, class: `https://example.org/${clazz}`, implementation: { file: PROCESSORS, class: clazz }, arguments: args });
  const channels = [channel("urn:c:tcp", "tcp", "urn:p:gen-tcp", "urn:p:sink-tcp"), channel("urn:c:ws", "websocket", "urn:p:gen-ws", "urn:p:sink-ws")];
  const assigned = {
    a: [
      processor("urn:p:gen-tcp", "Generator", { writer: { "@writer": "urn:c:tcp" }, count: N, size: SIZE }),
      processor("urn:p:gen-ws", "Generator", { writer: { "@writer": "urn:c:ws" }, count: N, size: SIZE }),
    ],
    b: [processor("urn:p:sink-tcp", "Counter", { reader: { "@reader": "urn:c:tcp" } }), processor("urn:p:sink-ws", "Counter", { reader: { "@reader": "urn:c:ws" } })],
  };
  const orchestrator = await tlsOrchestrator(t, RUN_TEXT);
  const processes = { a: runner(t, runnerEnv(orchestrator.url, "a")), b: runner(t, runnerEnv(orchestrator.url, "b")) };
  const controls = {};
  for (let i = 0; i < 2; i++) {
    const control = await orchestrator.nextConnection();
    const hello = await control.recv();
    assert.equal(hello.secret, FIXTURE_SECRET);
    controls[hello.runner] = control;
  }
  const endpoints = {};
  for (const id of ["a", "b"]) {
    controls[id].send({ type: "welcome", protocol: 1, run: "run-tls", heartbeatMs: 0 /* no pings here */ });
    controls[id].send({ type: "assign", processors: assigned[id], channels });
    const listening = await controls[id].next();
    if (listening?.type !== "listening") assert.fail(`runner ${id}: ${JSON.stringify(listening)} instead of listening: ${(await processes[id].exited).stderr}`);
    endpoints[id] = listening.endpoint;
  }
  for (const id of ["a", "b"]) controls[id].send({ type: "connect", endpoints });
  for (const id of ["a", "b"]) assert.deepEqual(await controls[id].next(), { type: "wired" });
  for (const id of ["a", "b"]) controls[id].send({ type: "init" });
  for (const id of ["a", "b"]) assert.deepEqual(await controls[id].next(), { type: "initialised" });
  for (const id of ["a", "b"]) controls[id].send({ type: "start" });
  const outcome = {};
  for (const id of ["a", "b"]) {
    for (let finished = 0; finished < 2; ) {
      const message = await controls[id].recv();
      assert.notEqual(message, null, `runner ${id} closed before its processors finished`);
      assert.notEqual(message.type, "failed", JSON.stringify(message));
      if (message.type === "finished") finished++;
      if (message.type === "log") (outcome[message.processor] ??= []).push(message.message);
    }
  }
  assert.deepEqual(outcome, {
    "urn:p:gen-tcp": [`sent ${N} messages`],
    "urn:p:gen-ws": [`sent ${N} messages`],
    "urn:p:sink-tcp": [`${N} messages, ${N * SIZE} bytes`],
    "urn:p:sink-ws": [`${N} messages, ${N * SIZE} bytes`],
  });
  for (const id of ["a", "b"]) controls[id].send({ type: "stop", reason: "every processor finished" });
  for (const id of ["a", "b"]) {
    assert.equal((await controls[id].until("bye")).type, "bye");
    const { code, stderr } = await processes[id].exited;
    assert.equal(code, 0, stderr);
  }
});

describe("an encrypted run without its identity", () => {
  const dir = mkdtempSync(join(tmpdir(), "riffle-tls-"));
  const noCertificate = join(dir, "no-certificate.secret");
  writeFileSync(noCertificate, `${FIXTURE_SECRET}\n`);
  const noKey = join(dir, "no-key.secret");
  writeFileSync(noKey, `${FIXTURE_SECRET}\n${pemOf(RUN_TEXT, "CERTIFICATE")}`);
  const cases = [
    ["RIFFLE_SECRET_FILE is not set", undefined, "is not set"],
    ["the file holds no certificate", noCertificate, `(${noCertificate}) holds no certificate`],
    ["the file holds no private key", noKey, `(${noKey}) holds no private key`],
  ];
  for (const [name, file, what] of cases) {
    test(`${name}: exit 1 with the one stderr line, before connecting`, { timeout: 20_000 }, async (t) => {
      let connections = 0;
      const server = net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      t.after(() => server.close());
      const env = { ...process.env, RIFFLE_CONTROL_URL: `wss://127.0.0.1:${server.address().port}`, RIFFLE_SECRET: FIXTURE_SECRET, RIFFLE_RUNNER_ID: "javascript" };
      delete env.RIFFLE_SECRET_FILE;
      if (file !== undefined) env.RIFFLE_SECRET_FILE = file;
      const { exited } = runner(t, env);
      const { code, stderr } = await exited;
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE ${what}; start it with the command riffle printed, which names the run's secret file\n`,
      );
      assert.equal(connections, 0);
    });
  }
});
