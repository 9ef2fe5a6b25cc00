// Start-up of a one-message JS-only pipeline of two class processors extending @rdfc/js-runner's Processor
// (test/fixtures/startup): wall time of `riffle run`, with the runner's own Processor/extendLogger module
// (RIFFLE_JS_RUNNER_SHIM unset) and with the real package (RIFFLE_JS_RUNNER_SHIM=0), runs alternating.
// Usage: node bench/startup.mjs [runs] [path/to/riffle]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 11);
const riffle = process.argv[3] ?? fileURLToPath(new URL("../../../target/release/riffle", import.meta.url));
const cwd = fileURLToPath(new URL("../test/fixtures/startup/", import.meta.url));
const times = { shim: [], real: [] };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (let i = 0; i < runs; i++) {
  for (const [name, value] of [["shim", "1"], ["real", "0"]]) {
    const t0 = performance.now();
    const run = spawnSync(riffle, ["run", "--quiet", "pipeline.ttl"], { cwd, env: { ...process.env, RIFFLE_JS_RUNNER_SHIM: value } });
    const ms = performance.now() - t0;
    if (run.status !== 0) throw new Error(`riffle run failed (${name}): ${run.stderr}`);
    times[name].push(ms);
  }
}
for (const [name, xs] of Object.entries(times)) {
  console.log(`${name === "shim" ? "runner's Processor " : "real @rdfc/js-runner"}  median ${median(xs).toFixed(1)} ms  min ${Math.min(...xs).toFixed(1)} ms  (${runs} runs)`);
}
