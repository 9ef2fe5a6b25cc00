// Building and running the processors assigned to this runner, in both APIs:
// - RDF-Connect class processors (rdfc:jsImplementationOf; implementation {file, class}):
//   `new Class(args, logger)`, then init(); on start transform() and produce(). Finished when both resolved.
// - Connector-architecture function processors (js:JsProcess; implementation {file, function, mapping}):
//   the function is called with positional arguments at init; a function it returns is called on start.
//   Finished when that function has resolved, every reader has ended (its end handlers run) and, for a
//   processor without readers, every writer has been ended.
// Writers a finished processor left open are closed; its readers are cancelled.

import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { inProcessor, processorLogger } from "./logging.mjs";
import { RdfcReader, RdfcWriter } from "./api-rdfc.mjs";
import { ConnReader, ConnWriter } from "./api-conn.mjs";
import { quadsFromJson, termFromJson } from "./terms.mjs";

/** A failure in a phase, as the `failed` message carries it. */
export class PhaseError extends Error {
  constructor(phase, message, stack) {
    super(message);
    this.phase = phase;
    this.jsStack = stack;
  }
}

function describeThrown(phase, thrown, prefix = "") {
  if (thrown instanceof PhaseError) return thrown;
  if (thrown instanceof Error) return new PhaseError(phase, prefix + (thrown.message || thrown.name), thrown.stack ?? null);
  return new PhaseError(phase, prefix + `threw a non-error value: ${safeString(thrown)}`, null);
}

function safeString(value) {
  try {
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Runs `fn` as the processor, turning a throw or rejection into a PhaseError of `phase`. */
async function guarded(id, phase, fn) {
  try {
    return await inProcessor(id, fn);
  } catch (thrown) {
    throw describeThrown(phase, thrown);
  }
}

const pathOf = (file) => (file.startsWith("file:") ? fileURLToPath(file) : file);

// The resolve hook that serves `Processor` and `extendLogger` of @rdfc/js-runner 3.x from the runner's own
// module (js-runner-hook.mjs) runs in a thread of its own, so it is registered only once a processor file
// names the package. RIFFLE_JS_RUNNER_SHIM=0 turns it off.
let hooked = false;
function hookJsRunner(file) {
  if (hooked || process.env.RIFFLE_JS_RUNNER_SHIM === "0") return;
  let source;
  try {
    source = readFileSync(pathOf(file), "utf8");
  } catch {
    return;
  }
  if (!source.includes("@rdfc/js-runner")) return;
  hooked = true;
  register("./js-runner-hook.mjs", import.meta.url);
}

export class Hosted {
  constructor(assignment, wiring) {
    this.id = assignment.id;
    this.assignment = assignment;
    this.wiring = wiring;
    const implementation = assignment.implementation;
    this.kind = typeof implementation.function === "string" ? "function" : "class";
    this.readers = []; // API objects
    this.writers = [];
    this.inboxes = [];
    this.channelWriters = [];
    this.finished = false;
    this.abandoned = false;
    this.idle = new Promise((resolve) => {
      this.markIdle = resolve;
    });
  }

  /** Nothing is pending in the runner: stop as the original process would, running no handler of its own. */
  endIdle() {
    this.abandoned = true;
    for (const reader of this.readers) reader.abandoned = true;
    for (const inbox of this.inboxes) inbox.cancel();
    this.markIdle();
  }

  /** Replaces every {"@reader": id} / {"@writer": id} in the arguments with this API's live object,
   * every {"@path": node, "@quads": [...]} (an rdfl:PathLens argument) with rdf-lens's lens for that
   * SHACL path, and every {"@quads": [...]} (an rdfl:CBD argument) with RDF/JS quads. */
  live(value) {
    if (Array.isArray(value)) return value.map((v) => this.live(v));
    if (value === null || typeof value !== "object") return value;
    if (typeof value["@reader"] === "string") {
      const inbox = this.wiring?.inbox(this.id, value["@reader"]);
      if (inbox === undefined) throw new PhaseError("init", `processor ${this.id}: no reader of channel ${value["@reader"]} was assigned to it`, null);
      this.inboxes.push(inbox);
      const reader = this.kind === "class" ? new RdfcReader(inbox) : new ConnReader(inbox, this.wiring.connStream(value["@reader"]));
      this.readers.push(reader);
      return reader;
    }
    if (value["@path"] !== undefined && Array.isArray(value["@quads"])) return this.pathLens(value);
    if (Array.isArray(value["@quads"])) return quadsFromJson(value["@quads"]);
    if (typeof value["@writer"] === "string") {
      const writer = this.wiring?.writer(this.id, value["@writer"]);
      if (writer === undefined) throw new PhaseError("init", `processor ${this.id}: no writer of channel ${value["@writer"]} was assigned to it`, null);
      this.channelWriters.push(writer);
      const api = this.kind === "class" ? new RdfcWriter(writer) : new ConnWriter(writer, this.wiring.connStream(value["@writer"]));
      this.writers.push(api);
      return api;
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.live(v);
    return out;
  }

  /** The lens rdf-lens makes of a SHACL path, as RDF-Connect's runner hands it over: rdf-lens is
   * taken from where the processor's own file would import it, so that the lens is of the version
   * the processor was written against. */
  pathLens(value) {
    const file = this.assignment.implementation.file;
    let lenses;
    try {
      lenses = createRequire(file)("rdf-lens");
    } catch (e) {
      throw new PhaseError(
        "init",
        `processor ${this.id}: an argument is a SHACL path (rdfl:PathLens), which reaches a JavaScript processor as an ` +
          `rdf-lens lens, but rdf-lens cannot be loaded from ${pathOf(file)} (${e.code ?? e.message}); install it there: npm install rdf-lens`,
        null,
      );
    }
    const path = { id: termFromJson(value["@path"]), quads: quadsFromJson(value["@quads"]) };
    try {
      return lenses.ShaclPath.execute(path);
    } catch (e) {
      throw describeThrown("init", e, `processor ${this.id}: the SHACL path ${path.id.value} is not one rdf-lens can follow: `);
    }
  }

  async load() {
    const file = this.assignment.implementation.file;
    if (typeof file !== "string") {
      throw new PhaseError("init", `processor ${this.id} has no implementation file (rdfc:file or js:file on ${this.assignment.class})`, null);
    }
    hookJsRunner(file);
    try {
      return await import(file);
    } catch (e) {
      throw describeThrown("init", e, `processor ${this.id}: cannot load ${pathOf(file)}: `);
    }
  }

  exportNamed(module, name, what) {
    const value = module[name];
    if (typeof value === "function") return value;
    const exported = Object.keys(module).filter((k) => typeof module[k] === "function").sort();
    throw new PhaseError(
      "init",
      `processor ${this.id} needs ${what} "${name}", which ${pathOf(this.assignment.implementation.file)} does not export ` +
        `(it exports: ${exported.join(", ") || "no functions or classes"})`,
      null,
    );
  }

  /** Loads, constructs and initialises the processor; throws a PhaseError of phase init. */
  async init() {
    const implementation = this.assignment.implementation;
    const module = await this.load();
    const args = this.live(this.assignment.arguments);
    if (this.kind === "class") {
      const Class = this.exportNamed(module, implementation.class ?? "default", "class");
      const logger = processorLogger(this.id, pathOf(implementation.file));
      this.instance = await guarded(this.id, "init", () => new Class(args, logger));
      // Arguments are fields of the instance, as in RDF-Connect; set here too because class field
      // declarations in a subclass reset what a base constructor assigned.
      for (const [name, value] of Object.entries(args)) {
        if (this.instance[name] === undefined) this.instance[name] = value;
      }
      if (typeof this.instance.init === "function") await guarded(this.id, "init", () => this.instance.init());
    } else {
      const fn = this.exportNamed(module, implementation.function, "function");
      // As @rdfc/js-runner 1.0.0: the working directory is the processor class's js:location while its
      // instances are set up, and stays the last one's afterwards.
      if (typeof implementation.location === "string") {
        try {
          process.chdir(pathOf(implementation.location));
        } catch (e) {
          throw new PhaseError("init", `processor ${this.id}: cannot change to its js:location ${pathOf(implementation.location)}: ${e.message}`, null);
        }
      }
      const positional = [];
      const mapping = implementation.mapping?.parameters;
      if (Array.isArray(mapping)) {
        for (const { parameter, position } of mapping) positional[position] = args[parameter];
      } else {
        positional.push(...Object.values(args));
      }
      const result = await guarded(this.id, "init", () => fn(...positional));
      this.startFn = typeof result === "function" ? result : null;
    }
  }

  /** Runs the processor to its end; rejects with a PhaseError. */
  async run(started) {
    if (this.kind === "class") {
      const instance = this.instance;
      await Promise.all([
        guarded(this.id, "transform", () => instance.transform?.()),
        started.then(() => guarded(this.id, "produce", () => instance.produce?.())),
      ]);
    } else {
      await started;
      const parts = [];
      if (this.startFn) parts.push(guarded(this.id, "produce", () => this.startFn()));
      for (const reader of this.readers) parts.push(guarded(this.id, "transform", () => reader.pump()));
      // ...or until nothing is pending in the runner (Session.watchIdle), when the original would exit.
      const all = Promise.all(parts);
      all.catch(() => {});
      await Promise.race([all, this.idle]);
      if (this.readers.length === 0 && !this.abandoned) {
        await Promise.race([Promise.all(this.writers.map((w) => w.whenEnded)), this.idle]);
      }
      if (this.abandoned) {
        // The original process would have exited here: no handler of this processor runs any more; its
        // channels are closed so that readers in other runners end.
        await Promise.all(this.channelWriters.map((w) => w.close()));
        return;
      }
      // The processor is done; writers it left open are ended as it would (end handlers included).
      await guarded(this.id, this.readers.length ? "transform" : "produce", () => Promise.all(this.writers.map((w) => w.end())));
    }
    for (const inbox of this.inboxes) inbox.cancel();
    await guarded(this.id, this.readers.length ? "transform" : "produce", () => Promise.all(this.channelWriters.map((w) => w.close())));
  }
}
