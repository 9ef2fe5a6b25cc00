// Attribution of output to processors. Every call into a processor runs inside `inProcessor(id, ...)`; an
// AsyncLocalStorage carries the id through its awaits and callbacks, so console output and the logger
// given to class processors become `log` messages naming that processor. Output outside any processor
// (the runner's own) goes to the real stderr.

import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

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

/** Marks the loggers made here without winston, which `extendLogger` of the runner's own @rdfc/js-runner knows. */
export const PLAIN_LOGGER = Symbol.for("riffle.plainLogger");

/**
 * The logger handed to class processors. RDF-Connect's js-runner 3.x gives `new Class(args, logger)` a winston
 * Logger (`createLogger` with one transport, so at winston's default level, info: debug and verbose are
 * dropped), and packages use it as one: `extendLogger(logger, ...)` reads its `transports`, `level` and
 * `format`. So when the processor's own package depends on winston, the logger is a real winston Logger made
 * with that package's winston (resolved from the processor's file), whose one transport sends every entry
 * as a `log` message naming the processor. Otherwise it is a plain logger with the same methods (no winston
 * is loaded, which costs about 100 ms of start-up).
 */
export function processorLogger(id, file = null) {
  const winston = file === null ? null : winstonFor(file);
  return winston === null ? plainLogger(id) : winstonLogger(winston, id);
}

const winstons = new Map(); // package folder -> winston module or null

function owningPackage(file) {
  for (let dir = dirname(file); ; ) {
    try {
      return { dir, json: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) };
    } catch (e) {
      if (e.code !== "ENOENT" && e.code !== "ENOTDIR") return null;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** winston as the package owning `file` sees it, if that package depends on winston; else null. */
export function winstonFor(file) {
  const pkg = owningPackage(file);
  if (pkg === null) return null;
  if (winstons.has(pkg.dir)) return winstons.get(pkg.dir);
  const { dependencies = {}, peerDependencies = {}, optionalDependencies = {} } = pkg.json;
  let winston = null;
  if ("winston" in dependencies || "winston" in peerDependencies || "winston" in optionalDependencies) {
    try {
      winston = createRequire(file)("winston");
      if (typeof winston?.createLogger !== "function" || typeof winston?.Transport !== "function") winston = null;
    } catch {
      winston = null;
    }
  }
  winstons.set(pkg.dir, winston);
  return winston;
}

const transportClasses = new WeakMap(); // winston module -> its Transport subclass sending `log` messages
const LEVEL = Symbol.for("level");

function riffleTransport(winston) {
  let Class = transportClasses.get(winston);
  if (Class === undefined) {
    Class = class RiffleTransport extends winston.Transport {
      constructor(processor) {
        super({});
        this.processor = processor;
      }
      log(info, callback) {
        const level = info[LEVEL] ?? info.level;
        const message = typeof info.message === "string" ? info.message : format(info.message);
        emit(this.processor, LEVELS[level] ?? "info", message);
        callback();
      }
    };
    transportClasses.set(winston, Class);
  }
  return Class;
}

function winstonLogger(winston, id) {
  const Transport = riffleTransport(winston);
  return winston.createLogger({ transports: [new Transport(id)] });
}

/** The logger without winston: the methods processors call on a winston Logger, every level passed on. */
export function plainLogger(id) {
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
    [PLAIN_LOGGER]: id,
  };
  for (const level of Object.keys(LEVELS)) logger[level] = (...args) => log(level, ...args);
  return logger;
}
