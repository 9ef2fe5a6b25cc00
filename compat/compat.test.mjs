// One test per case folder under compat/*/cases/*: runs Riffle on it through the harness's check and
// asserts its exit code, its processors' output lines and every expected file exactly.
// `node --test` in compat/ (after `npm ci` in compat/conn and compat/rdfc).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { allCases, loadCase, check, RIFFLE } from "./harness.mjs";

const riffle = fs.existsSync(RIFFLE);

for (const dir of allCases()) {
  const c = loadCase(dir);
  const modules = fs.existsSync(path.join(path.dirname(path.dirname(dir)), "node_modules"));
  const skip = !riffle ? `no riffle binary at ${RIFFLE}` : !modules ? `run npm ci in compat/${c.suite}` : false;
  test(`${c.suite}/${c.name}: ${c.spec.about}`, { skip, timeout: (c.spec.timeout + 30) * 1000 }, async () => {
    const { comparisons, run } = await check(dir);
    for (const { what, expected, actual } of comparisons) {
      assert.deepEqual(actual, expected, `${what} (temp copy: ${run.tmp})`);
    }
  });
}
