#!/usr/bin/env node
// The `riffle` command of the npm package: finds the platform package that holds this platform's Riffle
// distribution (@riffle/cli-<platform>-<arch>, an optional dependency, as esbuild and biome do it) and runs its
// bin/riffle with the same arguments, in the same folder, with the same standard streams. riffle finds its
// runners beside itself, in that package.
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");

const name = `@riffle/cli-${process.platform}-${process.arch}`;
let root;
try {
  root = path.dirname(require.resolve(`${name}/package.json`));
} catch {
  process.stderr.write(
    `riffle: the package ${name} is not installed, so there is no Riffle for ${process.platform}-${process.arch} here.\n` +
      `  fix: install it beside @riffle/cli (npm install --save-dev ${name}), or, if npm skipped optional\n` +
      `  dependencies (--omit=optional, --no-optional), install again without that flag.\n`,
  );
  process.exit(1);
}
const child = spawn(path.join(root, "bin", "riffle"), process.argv.slice(2), { stdio: "inherit" });
// Ctrl-C reaches riffle itself (the terminal signals the whole process group), so SIGINT is only kept
// from ending this launcher first; a SIGTERM or SIGHUP sent to the launcher alone is passed on.
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (error) => {
  process.stderr.write(`riffle: cannot start ${path.join(root, "bin", "riffle")}: ${error.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code);
  }
});
