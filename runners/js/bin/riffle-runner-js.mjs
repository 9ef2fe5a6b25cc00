#!/usr/bin/env node
// riffle-runner-js: the JavaScript runner. `riffle run` starts it with RIFFLE_CONTROL_URL, RIFFLE_SECRET
// and RIFFLE_RUNNER_ID in the environment (docs/protocol.md).

import { configFromEnv, EncryptedRunError, RunnerError, Session } from "../src/session.mjs";
import { runnerLog, currentProcessor } from "../src/logging.mjs";

let config;
try {
  config = configFromEnv();
} catch (e) {
  // Every runner prints this line in the same words, so it carries no prefix of this runner's.
  if (e instanceof EncryptedRunError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  if (!(e instanceof RunnerError)) throw e;
  runnerLog(e.message);
  process.exit(2);
}

// An error nothing awaited (a callback that threw, a promise nobody handled) cannot be pinned on a phase;
// it ends the runner, which `riffle run` reports as this runner's crash, with the processor if known.
const crash = (kind) => (error) => {
  const processor = currentProcessor();
  runnerLog(`${kind}${processor ? ` in processor ${processor}` : ""}: ${error?.stack ?? error}`);
  process.exit(1);
};
process.on("uncaughtException", crash("uncaught exception"));
process.on("unhandledRejection", crash("unhandled rejection"));

const code = await new Session(config).run();
process.exit(code);
