// The runner side of the control protocol (docs/protocol.md): hello, assign, connect, init, start, stop.
// Messages are handled in order; `stop` is handled at once, whatever is still running.

import { readFileSync } from "node:fs";
import { announced, listenAddress } from "./address.mjs";
import { ControlSocket, OPEN } from "./control-socket.mjs";
import { IdentityError, RunTls, identityLine, isEncrypted, parseIdentity } from "./tls.mjs";
import { parseMessage, VERSION } from "./protocol.mjs";
import { Wiring } from "./wiring.mjs";
import { Hosted, PhaseError } from "./host.mjs";
import { attach, detach, runnerLog } from "./logging.mjs";

const STATS_EVERY_MS = 250;
const WELCOME_TIMEOUT_MS = 30_000;
const FLUSH_TIMEOUT_MS = 5_000;

export class RunnerError extends Error {}

/**
 * The order processors are set up in. Connector-architecture function processors are set up class by class,
 * as @rdfc/js-runner 1.0.0 does (every instance of a class right after one another, classes in the order
 * their first instance is assigned); class processors in the order assigned.
 */
export function setupOrder(assigned) {
  const isFunction = (a) => typeof a.implementation?.function === "string";
  const classOf = (a) => `${a.class}\u0000${a.implementation.file}\u0000${a.implementation.function}`;
  const out = [];
  const done = new Set();
  for (const a of assigned) {
    if (!isFunction(a)) out.push(a);
    else if (!done.has(classOf(a))) {
      done.add(classOf(a));
      out.push(...assigned.filter((b) => isFunction(b) && classOf(b) === classOf(a)));
    }
  }
  return out;
}

/** The text of the file RIFFLE_SECRET_FILE names (riffle prints its path, never the secret). */
function readSecretFile(path) {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RunnerError(`RIFFLE_SECRET_FILE=${path} cannot be read: ${e.message}`);
  }
}

/** The secret: the first line of the secret file. */
function secretOf(path, text) {
  const secret = text.split("\n")[0].trim();
  if (!secret) throw new RunnerError(`RIFFLE_SECRET_FILE=${path} is empty; it should hold the run's secret on its first line`);
  return secret;
}

/** An encrypted run without its identity: the message is the whole stderr line, and the runner exits 1. */
export class EncryptedRunError extends RunnerError {}

/** The run's TLS identity, from the secret file, which every runner of an encrypted run must be given. */
function runTls(path, text) {
  if (!path) throw new EncryptedRunError(identityLine("is not set"));
  let identity;
  try {
    identity = parseIdentity(text);
  } catch (e) {
    if (e instanceof IdentityError) throw new EncryptedRunError(identityLine(`(${path}) ${e.message}`));
    throw e;
  }
  try {
    return new RunTls(identity);
  } catch (e) {
    throw new EncryptedRunError(identityLine(`(${path}) holds a certificate and key that TLS refuses: ${e.message}`));
  }
}

/** Reads the configuration from the environment; throws a RunnerError naming what is missing. */
export function configFromEnv(env = process.env) {
  const required = (name) => {
    if (!env[name]) {
      throw new RunnerError(`${name} is not set (riffle run sets it; to join a run by hand set RIFFLE_CONTROL_URL, RIFFLE_SECRET and RIFFLE_RUNNER_ID)`);
    }
    return env[name];
  };
  const controlUrl = required("RIFFLE_CONTROL_URL");
  const file = env.RIFFLE_SECRET_FILE;
  // Read once: in an encrypted run it holds the identity even when RIFFLE_SECRET gives the secret.
  const text = isEncrypted(controlUrl) && file ? readSecretFile(file) : null;
  const tls = isEncrypted(controlUrl) ? runTls(file, text) : null;
  return {
    controlUrl,
    secret: env.RIFFLE_SECRET || (file ? secretOf(file, text ?? readSecretFile(file)) : required("RIFFLE_SECRET")),
    runnerId: required("RIFFLE_RUNNER_ID"),
    dataListen: env.RIFFLE_DATA_LISTEN || null,
    dataAdvertise: env.RIFFLE_DATA_ADVERTISE || null,
    /** A RunTls in an encrypted run, null in a plaintext one: what every socket of the run is made with. */
    tls,
  };
}

export class Session {
  constructor(config) {
    this.config = config;
    this.wiring = null;
    /** The run's heartbeat deadline from `welcome` (null: none); data connections are probed by it too. */
    this.heartbeatMs = null;
    this.assigned = [];
    this.hosted = [];
    this.chain = Promise.resolve();
    this.lastStats = "";
    this.stopping = false;
  }

  /** Runs the session; resolves with the process exit code. */
  run() {
    return new Promise((resolve) => {
      this.finish = resolve;
      const ws = new ControlSocket(this.config.controlUrl, this.config.tls);
      this.ws = ws;
      let welcomed = false;
      const timer = setTimeout(() => this.exit(1, `no welcome within ${WELCOME_TIMEOUT_MS / 1000}s`), WELCOME_TIMEOUT_MS);
      ws.on("open", () => {
        ws._socket?.setNoDelay(true);
        this.controlIp = ws._socket?.localAddress ?? "127.0.0.1";
        this.send({
          type: "hello",
          protocol: VERSION,
          secret: this.config.secret,
          runner: this.config.runnerId,
          language: "javascript",
          pid: process.pid,
        });
      });
      ws.on("error", (e) => {
        if (!welcomed) this.exit(1, `cannot reach the orchestrator at ${this.config.controlUrl}: ${e.message}`);
      });
      ws.on("close", () => {
        clearTimeout(timer);
        if (!this.stopping) {
          this.exit(1, welcomed ? "the orchestrator went away (the control connection closed before stop); exiting" : "the orchestrator closed the connection before welcome");
        }
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) return this.exit(1, "protocol error: a binary frame; every message is a JSON text frame");
        let message;
        try {
          message = parseMessage(data.toString("utf8"), "orchestrator");
        } catch (e) {
          return this.exit(1, `protocol error: ${e.message}`);
        }
        if (!welcomed) {
          clearTimeout(timer);
          if (message.type === "refused") return this.exit(1, `the orchestrator refused this runner: ${message.reason}`);
          if (message.type !== "welcome") return this.exit(1, `protocol error: expected welcome, got ${message.type}`);
          if (message.protocol !== VERSION) {
            return this.exit(1, `protocol error: the orchestrator speaks protocol ${message.protocol}, this runner ${VERSION}`);
          }
          welcomed = true;
          attach((processor, level, text) => this.send({ type: "log", processor, level, message: text }));
          this.statsTimer = setInterval(() => this.sendStatsIfChanged(), STATS_EVERY_MS);
          this.statsTimer.unref();
          if (message.heartbeatMs > 0) this.watchHeartbeats(message.heartbeatMs);
          this.heartbeatMs = message.heartbeatMs > 0 ? message.heartbeatMs : null;
          return;
        }
        if (message.type === "stop") return this.stop(0);
        this.chain = this.chain.then(() => this.onMessage(message)).catch((e) => this.exit(1, e.message));
      });
      for (const [signal, number] of [["SIGTERM", 15], ["SIGINT", 2]]) {
        process.on(signal, () => {
          runnerLog(`got ${signal}; stopping`);
          this.stop(128 + number);
        });
      }
    });
  }

  send(message) {
    if (this.ws.readyState === OPEN) this.ws.send(JSON.stringify(message));
  }

  async onMessage(message) {
    if (this.stopping) return;
    switch (message.type) {
      case "assign": {
        if (this.wiring !== null) throw new Error("protocol error: a second assign");
        this.wiring = new Wiring({
          runnerId: this.config.runnerId,
          secret: this.config.secret,
          tls: this.config.tls,
          linkSilenceMs: this.heartbeatMs,
          channels: message.channels,
          log: (line) => this.send({ type: "log", processor: null, level: "warn", message: line }),
          processorLog: (processor, level, text) => this.send({ type: "log", processor, level, message: text }),
          functionProcessors: new Set(message.processors.filter((p) => typeof p.implementation?.function === "string").map((p) => p.id)),
        });
        this.assigned = message.processors;
        const bound = await this.wiring.listen(listenAddress(this.config.dataListen, this.controlIp));
        const endpoint = announced(bound, this.config.dataAdvertise, this.controlIp);
        this.send({ type: "listening", endpoint });
        return;
      }
      case "connect": {
        if (this.wiring === null) throw new Error("protocol error: connect before assign");
        const failures = await this.wiring.connect(message.endpoints);
        if (failures.length > 0) {
          const { processor, message: text } = failures[0];
          this.send({ type: "failed", processor, phase: "init", message: text, stack: null });
        } else {
          this.send({ type: "wired" });
        }
        return;
      }
      case "init":
        return this.init();
      case "start":
        return this.start();
      case "welcome":
      case "refused":
        throw new Error(`protocol error: ${message.type} after welcome`);
    }
  }

  async init() {
    for (const assignment of setupOrder(this.assigned)) {
      const hosted = new Hosted(assignment, this.wiring);
      try {
        await hosted.init();
      } catch (e) {
        const error = e instanceof PhaseError ? e : new PhaseError("init", e.message, e.stack ?? null);
        this.send({ type: "failed", processor: assignment.id, phase: "init", message: error.message, stack: error.jsStack });
        return;
      }
      this.hosted.push(hosted);
    }
    try {
      await this.wiring.initOwnEnds();
    } catch (e) {
      this.send({ type: "failed", processor: e.processor ?? this.assigned[0]?.id ?? "", phase: "init", message: e.message, stack: e.stack ?? null });
      return;
    }
    this.send({ type: "initialised" });
  }

  start() {
    this.watchIdle();
    let go;
    const started = new Promise((resolve) => {
      go = resolve;
    });
    for (const hosted of this.hosted) {
      hosted.run(started).then(
        () => {
          hosted.finished = true;
          this.send({ type: "finished", processor: hosted.id });
        },
        (e) => {
          const error = e instanceof PhaseError ? e : new PhaseError("transform", String(e?.message ?? e), e?.stack ?? null);
          this.send({ type: "failed", processor: hosted.id, phase: error.phase, message: error.message, stack: error.jsStack ?? null });
        },
      );
    }
    go();
  }

  /**
   * The end of a connector-architecture run, as the original's: Node exits once its event loop is empty,
   * whether or not every writer was ended (ldes-client 0.0.19 never ends its own). While processors run,
   * the runner's own handles (the control connection, the data endpoint, sockets to readers elsewhere, the
   * stats timer) are unref'd, so `beforeExit` fires exactly when nothing of the processors' own is pending:
   * no timer, socket, server, file watcher, child process, file or http channel end, nor a connection from a
   * writer elsewhere. Then every function processor not yet finished stops as the original process would:
   * none of its handlers runs any more (no end handler either), its writers' channels are closed (so that
   * readers in other runners end) and it is reported finished. Class processors are left as they are, as
   * RDF-Connect's runner leaves them.
   */
  watchIdle() {
    if (!this.hosted.some((h) => h.kind === "function")) return;
    this.refOwn(false);
    this.onIdle = () => this.idle();
    process.on("beforeExit", this.onIdle);
  }

  refOwn(on) {
    const sockets = [this.ws?._socket, ...(this.wiring?.outboundSockets() ?? [])];
    for (const socket of sockets) socket?.[on ? "ref" : "unref"]?.();
    this.wiring?.endpoint.server[on ? "ref" : "unref"]();
  }

  idle() {
    if (this.stopping) return;
    // The runner's own writes still in flight are not idleness: wait for them with their socket held.
    const busy = [this.ws?._socket, ...this.wiring.outboundSockets()].filter((s) => s && !s.destroyed && (s.writableLength > 0 || s.connecting));
    if (busy.length > 0) {
      for (const socket of busy) {
        socket.ref();
        const release = () => socket.unref();
        if (socket.connecting) socket.once("connect", release);
        else socket.once("drain", release);
      }
      return;
    }
    process.removeListener("beforeExit", this.onIdle);
    this.refOwn(true);
    const queued = this.wiring.queued();
    if (queued.length > 0) {
      const [channel, count] = queued[0];
      runnerLog(`nothing is pending, but ${count} message(s) of channel ${channel} wait for a reader that does not read; waiting for stop`);
      return;
    }
    for (const hosted of this.hosted) if (!hosted.finished && hosted.kind === "function") hosted.endIdle();
  }

  sendStatsIfChanged() {
    if (this.wiring === null) return;
    const ends = this.wiring.snapshot();
    const text = JSON.stringify(ends);
    if (text === this.lastStats) return;
    this.lastStats = text;
    this.send({ type: "stats", ends });
  }

  /** Stops what still runs, says the last stats and bye, and exits with `code` once bye is on the wire. */
  stop(code) {
    if (this.stopping) return;
    this.stopping = true;
    this.ws._socket?.ref(); // held again (see watchIdle) until bye is on the wire and the close is done
    clearInterval(this.statsTimer);
    clearInterval(this.heartbeatTimer);
    this.wiring?.shutDown();
    if (this.wiring !== null) this.send({ type: "stats", ends: this.wiring.snapshot() });
    this.send({ type: "bye" });
    detach();
    const timer = setTimeout(() => this.finish(code), FLUSH_TIMEOUT_MS);
    timer.unref();
    this.ws.once("close", () => this.finish(code));
    this.ws.close(1000);
  }

  /** The orchestrator pings several times within `deadline` ms; hearing nothing for that long means it,
   * its host or the link to it is gone, and nobody will ever say stop. */
  watchHeartbeats(deadline) {
    this.heartbeatTimer = setInterval(() => {
      const silent = performance.now() - this.ws.heardAt;
      if (silent >= deadline) this.exit(1, `the orchestrator has been silent for ${(silent / 1000).toFixed(1)} s (no heartbeat); exiting`);
    }, Math.max(20, deadline / 5));
    this.heartbeatTimer.unref();
  }

  exit(code, reason) {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.statsTimer);
    clearInterval(this.heartbeatTimer);
    detach();
    runnerLog(reason);
    this.wiring?.shutDown();
    this.ws.terminate();
    this.finish(code);
  }
}
