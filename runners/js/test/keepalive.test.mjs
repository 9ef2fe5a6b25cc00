// Liveness of data connections: with a heartbeat deadline, both ends of every data connection are probed
// by the kernel once idle (keepalive), so a silent peer fails it. Checked on the real sockets with `ss`,
// which shows each socket's keepalive timer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Inbox } from "../src/inbox.mjs";
import { Endpoint } from "../src/endpoint.mjs";
import { connectTcp } from "../src/tcp.mjs";
import { endReason, keepAliveDelay, watch } from "../src/keepalive.mjs";
import { RunTls, parseIdentity } from "../src/tls.mjs";

const SECRET = "s".repeat(64);
const CHANNEL = "urn:test:keepalive";
const RUN_TEXT = readFileSync(fileURLToPath(new URL("../../../protocol/fixtures/tls/run.secret", import.meta.url)), "utf8");
const RUN = new RunTls(parseIdentity(RUN_TEXT));

test("probing starts a third of the deadline into silence, in whole seconds, and not at all without one", () => {
  assert.equal(keepAliveDelay(3000), 1000);
  assert.equal(keepAliveDelay(200), 1000);
  assert.equal(keepAliveDelay(10_000), 4000);
  assert.equal(keepAliveDelay(null), null);
  assert.equal(keepAliveDelay(0), null);
});

/**
 * The timers `ss` shows for the TCP sockets on `port`, local or remote, once no byte is unacknowledged: a
 * socket shows one timer, and a retransmission timer ("on") hides the keepalive one while it runs.
 */
async function timers(port) {
  for (;;) {
    const out = execFileSync("ss", ["-tnoH", "state", "established", `( sport = :${port} or dport = :${port} )`], { encoding: "utf8" });
    const shown = out.trim().split("\n").map((line) => line.match(/timer:\((\w+)/)?.[1] ?? "none");
    if (!shown.includes("on")) return shown;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const hasSs = (() => {
  try {
    execFileSync("ss", ["-V"]);
    return true;
  } catch {
    return false;
  }
})();

for (const encrypted of [false, true]) {
  const what = encrypted ? "an encrypted" : "a plaintext";
  test(`${what} endpoint's accepted connection and a writer's connection are both probed once idle`, { skip: hasSs ? false : "`ss` (iproute2) is not installed" }, async (t) => {
    const tls = encrypted ? RUN : null;
    const secret = encrypted ? RUN_TEXT.split("\n")[0] : SECRET;
    const delay = keepAliveDelay(6000);
    const endpoint = new Endpoint(secret, () => {}, { tls, keepAliveMs: delay });
    t.after(() => endpoint.close());
    endpoint.register(CHANNEL, [new Inbox(CHANNEL, 1, { messages: 0, bytes: 0 })], 1);
    const { port } = await endpoint.listen("127.0.0.1", 0);
    const sink = await connectTcp({ host: "127.0.0.1", port, secret, tls, channel: CHANNEL, writer: "w0" });
    t.after(() => sink.socket.destroy());
    assert.deepEqual((await timers(port)).sort(), ["keepalive", "none"], "the endpoint's side, before the writer's is watched");
    watch(sink.socket, delay);
    assert.deepEqual(await timers(port), ["keepalive", "keepalive"]);
  });
}
