// A fake orchestrator for the runner's tests: a `ws` server on port 0 and one runner process connected to it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

export const SECRET = "3f9a0c1d2e4b5a6978877665544332211ffeeddccbbaa99887766554433221100";
const BIN = fileURLToPath(new URL("../bin/riffle-runner-js.mjs", import.meta.url));
export const fixture = (name) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../protocol/fixtures/${name}`, import.meta.url)), "utf8"));

/** Starts a runner (in `cwd`, with `env` added) against a fake orchestrator. */
export async function session({ cwd, env = {}, runnerId = "javascript" } = {}) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const child = spawn(process.execPath, [BIN], {
    cwd,
    env: { ...process.env, ...env, RIFFLE_CONTROL_URL: `ws://127.0.0.1:${server.address().port}`, RIFFLE_SECRET: SECRET, RIFFLE_RUNNER_ID: runnerId },
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
  const send = (message) => ws.send(JSON.stringify(message));
  const done = async () => {
    const result = await exited;
    server.close();
    return result;
  };
  return { child, recv, send, done, ws, stderr: () => stderr };
}

/** welcome, assign, connect, init, start; returns the messages before `start` was sent, other than stats. */
export async function startLocal(s, assign, { start = true } = {}) {
  await s.recv(); // hello
  s.send(fixture("orchestrator/welcome.json"));
  s.send(assign);
  const listening = await s.recv();
  assert.equal(listening?.type, "listening", JSON.stringify(listening));
  s.send({ type: "connect", endpoints: { javascript: listening.endpoint } });
  assert.deepEqual(await s.recv(), fixture("runner/wired.json"));
  s.send(fixture("orchestrator/init.json"));
  const before = [];
  for (;;) {
    const message = await s.recv();
    assert.notEqual(message, null, "the runner went away during init");
    if (message.type === "initialised" || message.type === "failed") {
      before.push(message);
      break;
    }
    if (message.type !== "stats") before.push(message);
  }
  if (start && before.at(-1).type === "initialised") s.send(fixture("orchestrator/start.json"));
  return before;
}

/** Reads messages (stats left out) until `count` processors have finished or failed. */
export async function untilDone(s, count) {
  const after = [];
  while (after.filter((m) => m.type === "finished" || m.type === "failed").length < count) {
    const message = await s.recv();
    assert.notEqual(message, null, `the runner closed before ${count} processors ended: ${JSON.stringify(after)}`);
    if (message.type !== "stats") after.push(message);
  }
  return after;
}

/** stop, then everything up to bye; resolves with the last stats' ends, sorted, and the exit. */
export async function stop(s) {
  s.send({ type: "stop", reason: "test over" });
  const rest = [];
  for (let m = await s.recv(); m !== null; m = await s.recv()) rest.push(m);
  const stats = rest.filter((m) => m.type === "stats").at(-1);
  const ends = (stats?.ends ?? []).map(({ blocked_us, ...end }) => end).sort((a, b) => `${a.channel} ${a.role} ${a.processor}`.localeCompare(`${b.channel} ${b.role} ${b.processor}`));
  return { ends, rest, exit: await s.done() };
}

export const end = (processor, argument = "x", runner = "javascript") => ({ processor, argument, runner });
