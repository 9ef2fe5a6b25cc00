// An encrypted endpoint's hello timeout covers the TLS handshake: a peer stalled in the handshake, or one
// that finished it and says nothing, holds a pending place only until the timeout. The timeout is read when
// the modules load, so it is shortened before they are imported (this file runs in a process of its own).
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

process.env.RIFFLE_HELLO_TIMEOUT_MS = "1000";
const { Endpoint } = await import("../src/endpoint.mjs");
const { Inbox } = await import("../src/inbox.mjs");
const { ChannelWriter } = await import("../src/writer.mjs");
const { connectTcp } = await import("../src/tcp.mjs");
const { RdfcReader } = await import("../src/api-rdfc.mjs");
const { RunTls, parseIdentity } = await import("../src/tls.mjs");

const RUN_TEXT = readFileSync(fileURLToPath(new URL("../../../protocol/fixtures/tls/run.secret", import.meta.url)), "utf8");
const RUN = new RunTls(parseIdentity(RUN_TEXT));
const SECRET = RUN_TEXT.split("\n")[0];

test("a TLS handshake that stalls, and a TLS connection without a hello, are closed at the hello timeout", { timeout: 20_000 }, async (t) => {
  const CHANNEL = "urn:test:tls-timeout";
  const log = [];
  const endpoint = new Endpoint(SECRET, (line) => log.push(line), { tls: RUN });
  t.after(() => endpoint.close());
  const inbox = new Inbox(CHANNEL, 1, { messages: 0, bytes: 0 });
  endpoint.register(CHANNEL, [inbox], 1);
  const { port } = await endpoint.listen("127.0.0.1", 0);

  // The header of a 256-byte handshake record, and then nothing.
  const stalled = net.connect({ host: "127.0.0.1", port });
  stalled.on("error", () => {});
  stalled.resume();
  stalled.write(Buffer.of(0x16, 0x03, 0x01, 0x01, 0x00));
  // A finished handshake with the run's certificate, and then no hello.
  const silent = await RUN.connectPinned("127.0.0.1", port);
  silent.resume();
  assert.equal(endpoint.pending.length, 2, "both count against the pending handshakes");

  // Both ends of both connections: the endpoint frees a place when its side has closed.
  const ends = [stalled, silent, ...endpoint.sockets];
  assert.equal(ends.length, 4);
  await Promise.all(ends.map((socket) => new Promise((resolve) => (socket.closed ? resolve() : socket.on("close", resolve)))));
  assert.deepEqual(log, ["refused connection: no hello within 1s", "refused connection: no hello within 1s"]);
  assert.equal(endpoint.pending.length, 0, "their places are free again");

  const writer = new ChannelWriter(CHANNEL, "w0", { messages: 0, bytes: 0, blocked_us: 0 });
  writer.sinks.push(await connectTcp({ host: "127.0.0.1", port, secret: SECRET, tls: RUN, channel: CHANNEL, writer: "w0" }));
  await writer.send("after");
  await writer.close();
  const got = [];
  for await (const message of new RdfcReader(inbox).strings()) got.push(message);
  assert.deepEqual(got, ["after"]);
});
