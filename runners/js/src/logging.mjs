// Attribution of output to processors. Every call into a processor runs inside `inProcessor(id, ...)`; an
// AsyncLocalStorage carries the id through its awaits and callbacks, so console output and the logger
// given to class processors become `log` messages naming that processor. Output outside any processor
// (the runner's own) goes to the real stderr.

import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";

const current = new AsyncLocalStorage();
let sink = null; // (processor, level, message) => void, once the control connection is up
const original = {
  log: console.log,
  info: console.info,
  warn: console.warn,
  error: console.error,
  debug: console.debug,
  trace: console.trace,
  stdout: process.stdout.write.bind(process.stdout),
  stderr: process.stderr.write.bind(process.stderr),
};

export function inProcessor(id, fn) {
  return current.run(id, fn);
}

export function currentProcessor() {
  return current.getStore();
}

/** The runner's own diagnostics: to stderr, which `riffle run` shows attributed to the runner. */
export function runnerLog(line) {
  original.stderr(`riffle-runner-js: ${line}\n`);
}

function emit(processor, level, message) {
  if (sink !== null) sink(processor, level, message);
  else original.stderr(`[${processor}] ${level}: ${message}\n`);
}

/** Routes console.* and writes to stdout/stderr made by processors through `send`. */
export function attach(send) {
  sink = send;
  const route = (level, fallback) =>
    function (...args) {
      const id = current.getStore();
      if (id === undefined) return fallback.apply(console, args);
      emit(id, level, format(...args));
    };
  console.log = route("info", original.log);
  console.info = route("info", original.info);
  console.warn = route("warn", original.warn);
  console.error = route("error", original.error);
  console.debug = route("debug", original.debug);
  console.trace = function (...args) {
    const id = current.getStore();
    if (id === undefined) return original.trace.apply(console, args);
    const stack = new Error().stack.split("\n").slice(2).join("\n");
    emit(id, "debug", `Trace: ${format(...args)}\n${stack}`);
  };
  // Libraries such as winston write to the streams directly: lines written there inside a processor are
  // its output too (stdout as info, stderr as warn, as `riffle run` treats a runner's own streams).
  const partial = new Map();
  const stream = (level, write) =>
    function (chunk, encoding, callback) {
      const id = current.getStore();
      if (id === undefined) return write(chunk, encoding, callback);
      const key = `${level} ${id}`;
      const text = (partial.get(key) ?? "") + (typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const lines = text.split("\n");
      const rest = lines.pop();
      if (rest) partial.set(key, rest);
      else partial.delete(key);
      for (const line of lines) emit(id, level, line);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done);
      return true;
    };
  process.stdout.write = stream("info", original.stdout);
  process.stderr.write = stream("warn", original.stderr);
}

export function detach() {
  sink = null;
}

const LEVELS = { error: "error", warn: "warn", info: "info", http: "info", verbose: "debug", debug: "debug", silly: "debug" };

/**
 * The logger handed to class processors: RDF-Connect's js-runner gives a winston Logger, so the methods
 * processors call on one are here (error, warn, info, http, verbose, debug, silly, log(level, message),
 * child()). Messages are formatted like console arguments.
 */
export function processorLogger(id) {
  const log = (level, ...args) => {
    const message = args.length === 1 && typeof args[0] === "object" && args[0] !== null && "message" in args[0] && !(args[0] instanceof Error)
      ? String(args[0].message)
      : format(...args);
    emit(id, LEVELS[level] ?? "info", message);
    return logger;
  };
  const logger = {
    log: (level, ...args) => (typeof level === "object" && level !== null ? log(level.level, level.message) : log(level, ...args)),
    child: () => logger,
    isLevelEnabled: () => true,
  };
  for (const level of Object.keys(LEVELS)) logger[level] = (...args) => log(level, ...args);
  return logger;
}
