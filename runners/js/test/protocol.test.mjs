// Replays protocol/fixtures: every golden message parses as its sender's, every invalid one is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseMessage } from "../src/protocol.mjs";

const fixtures = fileURLToPath(new URL("../../../protocol/fixtures/", import.meta.url));
const read = (name) => readFileSync(fixtures + name, "utf8");

test("every runner fixture parses as a runner message, unchanged", () => {
  const names = readdirSync(fixtures + "runner");
  assert.equal(names.length, 9);
  for (const name of names) {
    const text = read(`runner/${name}`);
    assert.deepEqual(parseMessage(text, "runner"), JSON.parse(text), name);
    assert.equal(JSON.parse(text).type, name.replace(".json", ""));
  }
});

test("every orchestrator fixture parses as an orchestrator message, unchanged", () => {
  const names = readdirSync(fixtures + "orchestrator");
  assert.equal(names.length, 7);
  for (const name of names) {
    const text = read(`orchestrator/${name}`);
    assert.deepEqual(parseMessage(text, "orchestrator"), JSON.parse(text), name);
  }
});

test("every invalid fixture is refused, saying why", () => {
  const expected = {
    "failed-with-unknown-phase.json": '"failed" with an invalid "phase": "shutdown"',
    "hello-without-secret.json": '"hello" without "secret"',
    "log-with-unknown-level.json": '"log" with an invalid "level": "loud"',
    "not-json.json": "not JSON",
    "unknown-type.json": 'unknown message type "launch"',
  };
  const names = readdirSync(fixtures + "invalid").sort();
  assert.deepEqual(names, Object.keys(expected).sort());
  for (const name of names) {
    const text = read(`invalid/${name}`);
    assert.throws(() => parseMessage(text, "runner"), (e) => e.message.startsWith(expected[name]), name);
    // None is a valid orchestrator message either (runner-only types are unknown in that direction).
    assert.throws(() => parseMessage(text, "orchestrator"), (e) => /^(not JSON|unknown message type)/.test(e.message), name);
  }
});

test("the session replay: each line parses as its sender's message", () => {
  const lines = read("session.jsonl").trim().split("\n");
  assert.equal(lines.length, 16);
  for (const line of lines) {
    const { from, message } = JSON.parse(line);
    assert.deepEqual(parseMessage(JSON.stringify(message), from), message);
    assert.throws(() => parseMessage(JSON.stringify({ ...message, type: "nope" }), from), /unknown message type "nope"/);
  }
});
