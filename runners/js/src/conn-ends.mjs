// The connector architecture's own channel ends (https://w3id.org/conn#FileReaderChannel, FileWriterChannel,
// HttpReaderChannel, HttpWriterChannel), as @rdfc/js-runner 1.0.0 implements them (dist/connectors/file.js,
// http.js). Each is one end of a channel with transport "file" or "http" and its `options`; a reader end is
// a source feeding the reader's inbox, a writer end a sink of the processor's writer.
//
// Unlike the original, whose file and http readers never end (a file is watched, a server listens, for
// ever), a reader end here ends once every writer end of this runner on the same file (or posting to the
// same port) has ended and what it wrote has been read: a pipeline that writes a file channel and reads it
// back ends. A reader end with no such writer here never ends, as in the original.
//
// Timing, as in the original: the path is resolved when the channel is made (at assign, against the
// runner's working directory then, the pipeline's folder), a file reader creates its file then; files are
// truncated (writer without onReplace), watched and listened on at `init`, after every processor's setup.

import { openSync, closeSync, watch, createReadStream } from "node:fs";
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import http from "node:http";
import { RESOLVED } from "./inbox.mjs";

/** A boolean option; a plain literal "false" (the lens types it as xsd:boolean in the original) is false. */
const flag = (value) => (typeof value === "string" ? value.trim() === "true" || value.trim() === "1" : Boolean(value));
const booleans = (options, names) => {
  const out = { ...options };
  for (const name of names) out[name] = flag(options[name]);
  return out;
};

/** Pairs every reader end with the writer ends of this runner that feed it. */
export function pairEnds(ends) {
  for (const source of ends.filter((e) => typeof e.pairs === "function")) {
    for (const sink of ends.filter((e) => source.pairs(e))) {
      source.writers.push(sink);
      (sink.readers ??= []).push(source);
    }
  }
}

const resolvePath = (path) => (isAbsolute(path) ? path : `${process.cwd()}/${path}`);

function readPart(path, start, end, encoding) {
  return new Promise((resolve) => {
    const stream = createReadStream(path, { encoding, start, end });
    let buffer = "";
    stream.on("data", (chunk) => (buffer += chunk));
    stream.on("close", () => resolve(buffer));
  });
}

function debounce(fn, ms = 100) {
  let timer;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** A file reader: every change of the file puts what was appended (or, onReplace, all of it) in the inbox. */
export class FileSource {
  constructor(options, inbox) {
    this.options = booleans(options, ["onReplace", "readFirstContent"]);
    this.inbox = inbox;
    this.path = resolvePath(options.path);
    this.encoding = options.encoding || "utf-8";
    this.watcher = null;
    this.writers = []; // FileSinks of this runner on the same file (see pair)
    closeSync(openSync(this.path, "a+"));
    inbox.onCancel = () => this.close();
  }
  /** The writer ends of this runner on the same file: once all have ended, the rest is read and the reader ends. */
  pairs(sink) {
    return sink instanceof FileSink && sink.path === this.path;
  }
  async init() {
    const { path, encoding, options, inbox } = this;
    let position = (await stat(path)).size;
    const read = async () => {
      try {
        let content;
        this.dirty = false;
        if (options.onReplace) content = await readFile(path, { encoding });
        else {
          const size = (await stat(path)).size;
          if (size <= position) {
            position = size;
            return;
          }
          content = await readPart(path, position, size, encoding);
          position = size;
        }
        await inbox.put(content);
      } catch (error) {
        if (error.code !== "ENOENT") throw error;
      }
    };
    this.read = read;
    this.changed = debounce(() => {
      this.pending = read().finally(() => (this.pending = null));
    });
    this.watcher = watch(path, { encoding: "utf-8" });
    this.watcher.on("change", (...args) => {
      this.dirty = true;
      this.changed(...args);
    });
    if (options.onReplace && options.readFirstContent) await inbox.put(await readFile(path, { encoding }));
  }
  /** Every paired writer has ended: read what the last change left (the original never ends a file reader). */
  async writersEnded() {
    this.changed?.cancel();
    this.watcher?.close();
    this.watcher = null;
    await this.pending;
    if (!this.inbox.cancelled && this.read) {
      if (this.options.onReplace) {
        if (this.dirty) await this.read();
      } else await this.read();
    }
    this.inbox.writerClosed();
  }
  close() {
    this.changed?.cancel();
    this.watcher?.close();
    this.watcher = null;
  }
}

/** A file writer: appends every message to the file (truncated at init), or replaces it with onReplace. */
export class FileSink {
  constructor(options) {
    this.options = booleans(options, ["onReplace"]);
    this.path = resolvePath(options.path);
    this.encoding = options.encoding || "utf-8";
  }
  async init() {
    if (!this.options.onReplace) await writeFile(this.path, "", { encoding: this.encoding });
  }
  send(message) {
    const write = this.options.onReplace ? writeFile : appendFile;
    const written = write(this.path, message, { encoding: this.encoding });
    this.last = written.catch(() => {});
    return written;
  }
  close() {
    return endPaired(this);
  }
  abort() {}
}

/** A writer end paired with reader ends of this runner has closed: a reader whose writers all have, ends. */
async function endPaired(sink) {
  await sink.last;
  sink.closed = true;
  for (const source of sink.readers ?? []) {
    if (source.writers.every((w) => w.closed)) await source.writersEnded();
  }
}

/** An HTTP reader: a server whose every request body is a message (bytes when binary, else text). */
export class HttpSource {
  constructor(options, inbox) {
    options = booleans(options, ["binary", "waitHandled"]);
    if (typeof options.port === "string") options.port = Number(options.port);
    if (typeof options.responseCode === "string") options.responseCode = Number(options.responseCode);
    this.options = options;
    this.inbox = inbox;
    this.put = 0;
    this.handled = []; // [count, resolve] waiting for the reader to be done with message `count`
    this.server = http.createServer((req, res) => this.request(req, res));
    this.writers = [];
    inbox.onCancel = () => this.close();
    if (options.waitHandled) {
      inbox.takeHook = (taken) => {
        while (this.handled.length > 0 && this.handled[0][0] <= taken) this.handled.shift()[1]();
      };
    }
  }
  init() {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? undefined, this.options.endpoint ?? undefined, () => {
        this.server.removeListener("error", reject);
        resolve();
      });
    });
  }
  /** The HTTP writer ends of this runner that post to this server (same port, and host when one is given). */
  pairs(sink) {
    if (!(sink instanceof HttpSink) || this.options.port == null) return false;
    const port = Number(sink.url.port || 80);
    const host = this.options.endpoint;
    return port === this.options.port && (host == null || host === sink.url.hostname || (host === "0.0.0.0" && sink.url.hostname === "127.0.0.1"));
  }
  /** Every paired writer has ended, and each waited for its responses, so every request has been taken. */
  async writersEnded() {
    this.close();
    this.inbox.writerClosed();
  }
  async request(req, res) {
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const count = ++this.put;
      const handled = this.options.waitHandled ? new Promise((resolve) => this.handled.push([count, resolve])) : null;
      await this.inbox.put(this.options.binary ? body : body.toString());
      if (handled !== null && !this.inbox.cancelled) await handled;
    } catch (error) {
      console.error("Failed", error);
    }
    res.writeHead(this.options.responseCode || 200);
    res.end("OK");
  }
  close() {
    for (const [, resolve] of this.handled.splice(0)) resolve();
    this.server.close();
    this.server.closeAllConnections?.();
  }
}

/**
 * An HTTP writer: every message is the body of one request to the endpoint, with the method given; the
 * next waits for the response. (The original's request has no path: its options read `.path` of a URL,
 * which has none, so every request went to "/"; here it goes to the endpoint's path and query.)
 */
export class HttpSink {
  constructor(options) {
    this.url = new URL(options.endpoint);
    this.method = options.method;
    this.last = RESOLVED;
  }
  init() {
    return RESOLVED;
  }
  send(message) {
    const sent = new Promise((resolve, reject) => {
      const req = http.request(
        { hostname: this.url.hostname, port: this.url.port, path: this.url.pathname + this.url.search, method: this.method },
        (response) => {
          response.on("data", () => {});
          response.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.write(typeof message === "string" || message instanceof Uint8Array ? message : String(message), () => req.end());
    });
    this.last = sent.catch(() => {});
    return sent;
  }
  close() {
    return endPaired(this);
  }
  abort() {}
}
