// A processor's writer of one channel: every message goes to every reader (fan-out), in memory to readers
// in this runner and over TCP or WebSocket to readers elsewhere.

import { FOR_ROOM, RESOLVED, forRoom } from "./inbox.mjs";
import { ChannelError } from "./errors.mjs";
import { inspect } from "node:util";

/** The writer end of a channel in memory: puts messages straight into the reader's inbox. */
export class MemorySink {
  constructor(inbox) {
    this.inbox = inbox;
  }
  send(message) {
    return this.inbox.put(message);
  }
  close() {
    this.inbox.writerClosed();
    return RESOLVED;
  }
  abort() {}
}

export class ChannelWriter {
  /**
   * @param {string} channel channel id
   * @param {string} name the writer id, `<processor>#<argument>`
   * @param {{messages:number, bytes:number, blocked_us:number}} stats
   */
  constructor(channel, name, stats) {
    this.channel = channel;
    this.name = name;
    this.stats = stats;
    this.sinks = [];
    this.closed = null;
    this.logPayload = null; // (text) => void when the channel has a logLevel
    // The wait for room: sends that wait at the same time (a processor need not await each) count once.
    this.waiting = 0;
    this.waitingSince = 0;
    this.blockedMs = 0;
    this.unblocked = () => {
      if (--this.waiting > 0) return;
      this.blockedMs += performance.now() - this.waitingSince;
      this.stats.blocked_us = Math.floor(this.blockedMs * 1000);
    };
  }

  /** Sends a string (text) or a Uint8Array (bytes); resolves when the message may be followed by more. */
  send(message) {
    if (this.logPayload !== null && this.closed === null) this.logPayload(describePayload(message));
    if (this.closed !== null) {
      return Promise.reject(new ChannelError(`channel ${this.channel}: writer ${this.name} is closed; nothing more can be sent`));
    }
    if (typeof message !== "string") {
      if (!(message instanceof Uint8Array)) {
        if (message instanceof ArrayBuffer) {
          message = new Uint8Array(message);
          this.stats.bytes += message.byteLength;
        } else if (this.sinks.every((sink) => sink instanceof MemorySink)) {
          // Between processors in this runner any value can pass as it is, as connector-architecture
          // JS channels allowed; only the wire needs text or bytes.
          this.stats.messages++;
          return this.timed(this.fanOut(message));
        } else {
          return Promise.reject(
            new ChannelError(`channel ${this.channel}: writer ${this.name} can send a string or bytes (Uint8Array), not ${describe(message)}`),
          );
        }
      } else this.stats.bytes += message.byteLength;
    } else {
      this.stats.bytes += Buffer.byteLength(message);
    }
    this.stats.messages++;
    return this.timed(this.fanOut(message));
  }

  /** Counts the time a send waits for room in a full reader (or socket) as blocked. */
  timed(result) {
    if (result === RESOLVED || result[FOR_ROOM] !== true) return result;
    if (this.waiting++ === 0) this.waitingSince = performance.now();
    return result.then(this.unblocked, (error) => {
      this.unblocked();
      throw error;
    });
  }

  fanOut(message) {
    const sinks = this.sinks;
    if (sinks.length === 1) return sinks[0].send(message);
    let waits = null;
    for (const sink of sinks) {
      const result = sink.send(message);
      if (result !== RESOLVED) (waits ??= []).push(result);
    }
    if (waits === null) return RESOLVED;
    if (waits.length === 1) return waits[0];
    const all = Promise.all(waits);
    return waits.some((wait) => wait[FOR_ROOM] === true) ? forRoom(all) : all;
  }

  /** Closes every connection; resolves once every reader has everything. Calling it again is harmless. */
  close() {
    this.closed ??= Promise.all(this.sinks.map((sink) => sink.close())).then(() => undefined);
    return this.closed;
  }

  get isClosed() {
    return this.closed !== null;
  }

  abort() {
    for (const sink of this.sinks) sink.abort();
  }
}

function describePayload(message) {
  if (typeof message === "string") return message;
  if (message instanceof Uint8Array || message instanceof ArrayBuffer) return `<${message.byteLength} bytes>`;
  return inspect(message);
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
