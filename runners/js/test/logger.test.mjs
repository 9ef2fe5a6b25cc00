// The logger class processors get (a winston Logger when their package depends on winston) and the
// runner's own Processor/extendLogger module for @rdfc/js-runner 3.x (js-runner-hook.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { pathToFileURL, fileURLToPath } from "node:url";
import { session, startLocal, untilDone, stop } from "../test-support/orchestrator.mjs";
import { importsOnlyCheap } from "../src/js-runner-hook.mjs";

const at = (path) => pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href;
const one = (id, file, clazz, args = {}) => ({
  type: "assign",
  processors: [{ id, class: `https://example.org/${clazz}`, implementation: { file: at(file), class: clazz }, arguments: args }],
  channels: [],
});
const logs = (messages, id) => messages.filter((m) => m.type === "log" && m.processor === id).map((m) => `${m.level} ${m.message}`);

test("a processor whose package depends on winston gets a winston Logger; extendLogger keeps its output attributed", async () => {
  const s = await session();
  const before = await startLocal(s, one("p", "./fixtures/winston-pkg/processors.mjs", "Extends"));
  const after = await untilDone(s, 1);
  assert.deepEqual(logs([...before, ...after], "p"), [
    "info winston true info object 1",
    "info from the extended logger",
    "warn a warning",
    "error done",
  ]);
  assert.equal(after.at(-1).type, "finished");
  assert.equal((await stop(s)).exit.code, 0);
});

test("a processor outside such a package gets the plain logger, which extendLogger extends", async () => {
  const s = await session();
  const before = await startLocal(s, one("p", "./fixtures/plain-processors.mjs", "Plain"));
  await untilDone(s, 1);
  assert.deepEqual(logs(before, "p"), ["info plain false", "debug debug passes"]);
  await stop(s);
});

for (const [shim, grpc] of [["1", false], ["0", true]]) {
  test(`Processor from @rdfc/js-runner 3.x ${shim === "1" ? "is the runner's own, without the package's graph" : "is the package's with RIFFLE_JS_RUNNER_SHIM=0"}`, async () => {
    const s = await session({ env: { RIFFLE_JS_RUNNER_SHIM: shim } });
    const before = await startLocal(s, one("p", "./fixtures/shim-processors.mjs", "Cheap", { declared: 7 }));
    await untilDone(s, 1);
    assert.deepEqual(logs(before, "p"), [`info grpc ${grpc} args {"declared":7} get 7 field 7 base true`]);
    await stop(s);
  });
}

test("only static named imports of Processor and extendLogger are served by the runner's module", () => {
  assert.equal(importsOnlyCheap(`import { Processor } from "@rdfc/js-runner";`), true);
  assert.equal(importsOnlyCheap(`import { extendLogger as e, Processor } from '@rdfc/js-runner'\nimport x from "n3"`), true);
  assert.equal(importsOnlyCheap(`import { Processor, Runner } from "@rdfc/js-runner";`), false);
  assert.equal(importsOnlyCheap(`import * as rdfc from "@rdfc/js-runner";`), false);
  assert.equal(importsOnlyCheap(`import { Processor } from "@rdfc/js-runner"; export * from "@rdfc/js-runner";`), false);
  assert.equal(importsOnlyCheap(`import { Processor } from "@rdfc/js-runner"; await import("@rdfc/js-runner");`), false);
  assert.equal(importsOnlyCheap(`import { Processor } from "@rdfc/js-runner-other";`), false);
});
