// The RDF-Connect class-processor API (what @rdfc/js-runner 3.x gives processors): readers with strings(),
// buffers(), streams(), anys() as async iterables and cancel(); writers with string(), buffer(), stream(),
// any() and close(), each resolving when the channel takes more (backpressure).
//
// A stream (`writer.stream(...)`) travels as ONE bytes message holding the chunks concatenated; a reader's
// streams() yields every message as a stream of one chunk. RDF-Connect sends a stream chunk by chunk through
// its orchestrator; here messages are the unit that channels order, bound and count.

import { EMPTY, END } from "./inbox.mjs";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

const asString = (m) => (typeof m === "string" ? m : decoder.decode(m));
const asBytes = (m) => (typeof m === "string" ? encoder.encode(m) : m);
const asAny = (m) => (typeof m === "string" ? { string: m } : { buffer: m });
async function* oneChunk(m) {
  yield asBytes(m);
}
const asStream = (m) => oneChunk(m);

/**
 * One pass over a reader's messages. `next()` answers without a promise when a message is queued
 * (`for await` awaits plain results just the same); a promise is made only when the queue is empty.
 */
class Messages {
  constructor(inbox, convert) {
    this.inbox = inbox;
    this.convert = convert;
  }
  [Symbol.asyncIterator]() {
    return this;
  }
  next() {
    let message;
    try {
      message = this.inbox.take();
    } catch (e) {
      return Promise.reject(e);
    }
    if (message === EMPTY) return this.inbox.wait().then(() => this.next());
    if (message === END) return Promise.resolve({ done: true, value: undefined });
    return { done: false, value: this.convert(message) };
  }
  return() {
    return Promise.resolve({ done: true, value: undefined });
  }
}

export class RdfcReader {
  constructor(inbox) {
    this.inbox = inbox;
    this.uri = inbox.channel;
  }
  strings() {
    return new Messages(this.inbox, asString);
  }
  buffers() {
    return new Messages(this.inbox, asBytes);
  }
  streams() {
    return new Messages(this.inbox, asStream);
  }
  anys() {
    return new Messages(this.inbox, asAny);
  }
  /** No more messages are wanted: what is queued and what comes is dropped, and iteration ends. */
  cancel() {
    this.inbox.cancel();
  }
}

export class RdfcWriter {
  constructor(writer) {
    this.writer = writer;
    this.uri = writer.channel;
  }
  string(text) {
    return this.writer.send(text);
  }
  buffer(bytes) {
    return this.writer.send(bytes);
  }
  async stream(chunks, transform) {
    const parts = [];
    for await (const chunk of chunks) parts.push(transform ? transform(chunk) : chunk);
    await this.writer.send(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))));
  }
  any(any) {
    if (any === null || typeof any !== "object") return this.writer.send(any);
    if ("string" in any) return this.writer.send(any.string);
    if ("buffer" in any) return this.writer.send(any.buffer);
    if ("stream" in any) return this.stream(any.stream);
    return this.writer.send(any);
  }
  close() {
    return this.writer.close();
  }
}
