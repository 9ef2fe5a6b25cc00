import { test } from "node:test";
import assert from "node:assert/strict";
import { announced, listenAddress } from "../src/address.mjs";

test("a runner binds where it reached the orchestrator unless told", () => {
  assert.equal(listenAddress(null, "10.0.0.7"), "10.0.0.7:0");
  assert.equal(listenAddress(null, "fd00::7"), "[fd00::7]:0");
  assert.equal(listenAddress("0.0.0.0:7001", "10.0.0.7"), "0.0.0.0:7001");
});

test("the announced address is reachable from where the orchestrator is", () => {
  const at = (address, port) => ({ address, port });
  assert.equal(announced(at("10.0.0.7", 4000), null, "10.0.0.7"), "10.0.0.7:4000");
  assert.equal(announced(at("0.0.0.0", 4000), null, "10.0.0.7"), "10.0.0.7:4000");
  assert.equal(announced(at("::", 4000), null, "10.0.0.7"), "10.0.0.7:4000");
  assert.equal(announced(at("0.0.0.0", 4000), "b.lan", "10.0.0.7"), "b.lan:4000");
  assert.equal(announced(at("0.0.0.0", 4000), "b.lan:80", "10.0.0.7"), "b.lan:80");
  assert.equal(announced(at("0.0.0.0", 4000), "fd00::2", "10.0.0.7"), "[fd00::2]:4000");
  assert.equal(announced(at("0.0.0.0", 4000), "[fd00::2]:81", "10.0.0.7"), "[fd00::2]:81");
});
