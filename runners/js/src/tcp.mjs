// Channels over TCP framing (channels/FRAMING.md): the writer side (TcpSink) and the reader side (serveTcp).

import net from "node:net";
import { isUtf8, constants as bufferConstants } from "node:buffer";
import { HEADER, KIND, MAX_CONTROL, controlFrame, helloJson, parseAccept, parseHello, acceptJson } from "./frame.mjs";
import { Backpressure } from "./backpressure.mjs";
import { endReason } from "./keepalive.mjs";
import { ChannelError, protocolError, refused, tooLarge, vanishedReader, vanishedWriter } from "./errors.mjs";
import { notTheRunCertificate } from "./tls.mjs";

/** Frames are packed into a buffer of this size and written when it is full or the writer goes idle. */
export const BATCH = 256 * 1024;
/** Above this, a payload is written as its own chunk rather than copied into the batch. */
const COPY_BELOW = 64 * 1024;
/** Batches smaller than this are copied out so that the big batch buffer can be reused. */
const REUSE_BELOW = 32 * 1024;
/** How long a connection may take over its hello, both ends (RIFFLE_HELLO_TIMEOUT_MS: tests shorten it). */
export const HELLO_TIMEOUT_MS = Number(process.env.RIFFLE_HELLO_TIMEOUT_MS) > 0 ? Number(process.env.RIFFLE_HELLO_TIMEOUT_MS) : 10_000;

// ------------------------------------------------------------------------------------------------------
// Writer side

/** Reads control frames (accept, refuse, close) from the reader; calls `onFrame(kind, payload)`. */
class ControlFrames {
  constructor(onFrame, onError) {
    this.pending = Buffer.alloc(0);
    this.onFrame = onFrame;
    this.onError = onError;
  }
  feed(chunk) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32BE(0);
      if (len > MAX_CONTROL) return this.onError(`control frame declares ${len} bytes, above ${MAX_CONTROL}`);
      if (this.pending.length < HEADER + len) return;
      const kind = this.pending[4];
      const payload = this.pending.subarray(HEADER, HEADER + len);
      this.pending = this.pending.subarray(HEADER + len);
      this.onFrame(kind, payload);
    }
  }
}

/**
 * Connects a writer to a reader endpoint; resolves with a TcpSink once the reader accepted it. With `tls`
 * (an encrypted run) the connection is TLS and the hello goes out only once the endpoint has presented
 * the run's certificate.
 */
export function connectTcp({ host, port, secret, channel, writer, tls = null }) {
  return new Promise((resolve, reject) => {
    const socket = tls === null ? net.connect({ host, port }) : tls.connect(host, port);
    socket.setNoDelay(true);
    let settled = false;
    const fail = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(reason instanceof ChannelError ? reason : refused(channel, writer, reason));
    };
    const timer = setTimeout(() => fail(`no answer to the hello within ${HELLO_TIMEOUT_MS / 1000}s`), HELLO_TIMEOUT_MS);
    const control = new ControlFrames(
      (kind, payload) => {
        if (settled) return;
        if (kind === KIND.ACCEPT) {
          let limit;
          try {
            limit = parseAccept(payload.toString("utf8"));
          } catch (e) {
            return fail(e.message);
          }
          settled = true;
          clearTimeout(timer);
          socket.removeAllListeners("data");
          socket.removeAllListeners("error");
          socket.removeAllListeners("close");
          resolve(new TcpSink(socket, channel, writer, limit, control.pending));
        } else if (kind === KIND.REFUSE) {
          fail(payload.toString("utf8"));
        } else {
          fail(`unexpected answer to hello (kind byte ${kind})`);
        }
      },
      (reason) => fail(reason),
    );
    const hello = () => socket.write(controlFrame(KIND.HELLO, helloJson(secret, channel, writer)));
    const unreachable = (why) => new ChannelError(`channel ${channel}: cannot connect to ${host}:${port}: ${why}`);
    let secured = false;
    if (tls === null) socket.on("connect", hello);
    else {
      socket.on("secureConnect", () => {
        if (!tls.presentsRunCertificate(socket)) return fail(unreachable(notTheRunCertificate(host, port)));
        secured = true;
        hello();
      });
    }
    socket.on("data", (chunk) => control.feed(chunk));
    socket.on("error", (e) => fail(unreachable(tls !== null && !secured ? `TLS handshake failed: ${e.message}` : e.message)));
    socket.on("close", () => fail("the endpoint closed the connection without an answer"));
  });
}

/** One writer's connection: frames batched into one buffer, written when full or when the writer idles. */
export class TcpSink {
  constructor(socket, channel, writer, limit, leftover) {
    this.socket = socket;
    this.channel = channel;
    this.writer = writer;
    this.limit = limit;
    this.buf = Buffer.allocUnsafe(BATCH);
    this.used = 0;
    this.scheduled = false;
    this.blocked = new Backpressure();
    this.error = null;
    this.closing = null;
    this.flushNow = () => {
      this.scheduled = false;
      this.flush();
    };
    const control = new ControlFrames(
      (kind, payload) => {
        if (kind === KIND.CLOSE && this.closing) return this.closing.resolve();
        if (kind === KIND.REFUSE) return this.broken(`the reader closed the connection: ${payload.toString("utf8")}`);
        this.broken(`the reader sent unexpected data (kind byte ${kind})`);
      },
      (reason) => this.broken(reason),
    );
    socket.on("data", (chunk) => control.feed(chunk));
    socket.on("error", (e) => this.broken(`connection to the reader failed: ${e.message}`));
    socket.on("close", () => this.broken("the reader closed the connection"));
    socket.on("drain", () => {
      this.blocked.release();
    });
    if (leftover.length) control.feed(leftover);
  }

  broken(reason) {
    if (this.error !== null) return;
    this.error = vanishedReader(this.channel, this.writer, reason);
    this.socket.destroy();
    this.blocked.fail(this.error);
    this.closing?.reject(this.error);
  }

  send(message) {
    if (this.error !== null) return Promise.reject(this.error);
    const text = typeof message === "string";
    const space = BATCH - this.used - HEADER;
    let len;
    if (text && message.length * 3 <= space) {
      // Encoded straight into the batch: its byte length is known only afterwards.
      len = this.buf.write(message, this.used + HEADER, "utf8");
    } else {
      len = text ? Buffer.byteLength(message) : message.byteLength;
      if (len > this.limit) return Promise.reject(tooLarge(this.channel, len, this.limit));
      if (len >= COPY_BELOW) {
        // What is batched goes first, or a large message would overtake it.
        this.flush();
        return this.sendLarge(text ? Buffer.from(message, "utf8") : message, text);
      }
      if (len > space) this.flush();
      if (text) this.buf.write(message, this.used + HEADER, "utf8");
      else this.buf.set(message, this.used + HEADER);
    }
    if (len > this.limit) return Promise.reject(tooLarge(this.channel, len, this.limit));
    this.buf.writeUInt32BE(len, this.used);
    this.buf[this.used + 4] = text ? KIND.TEXT : KIND.BYTES;
    this.used += HEADER + len;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return this.blocked.wait();
  }

  sendLarge(payload, text) {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(payload.byteLength, 0);
    header[4] = text ? KIND.TEXT : KIND.BYTES;
    this.socket.cork();
    this.socket.write(header);
    const ok = this.socket.write(payload);
    this.socket.uncork();
    if (!ok) this.block();
    return this.blocked.wait();
  }

  flush() {
    if (this.used === 0 || this.error !== null) return;
    let chunk;
    if (this.used < REUSE_BELOW) {
      chunk = Buffer.from(this.buf.subarray(0, this.used));
    } else {
      chunk = this.buf.subarray(0, this.used);
      this.buf = Buffer.allocUnsafe(BATCH);
    }
    this.used = 0;
    if (!this.socket.write(chunk)) this.block();
  }

  block() {
    this.blocked.engage();
  }

  /** Sends the close frame and resolves when the reader acknowledged it (so every message reached it). */
  close() {
    if (this.error !== null) return Promise.reject(this.error);
    this.flush();
    const done = new Promise((resolve, reject) => {
      this.closing = { resolve, reject };
    });
    this.socket.write(controlFrame(KIND.CLOSE));
    return done.then(() => {
      this.socket.removeAllListeners("close");
      this.socket.on("close", () => {});
      this.socket.end();
    });
  }

  /** Drops the connection without a close: the reader sees this writer vanish. */
  abort() {
    this.error ??= new ChannelError(`channel ${this.channel}: writer ${this.writer} was stopped`);
    this.socket.destroy();
  }
}

// ------------------------------------------------------------------------------------------------------
// Reader side

/** The longest string V8 can hold, for a clear error instead of a crash on a huge text message. */
const MAX_STRING_BYTES = bufferConstants.MAX_STRING_LENGTH;

/**
 * Serves one connection whose first byte was 0x00: reads the hello, admits the writer through `admit`
 * (which returns {inboxes, limit} or {refuse, tell}), then parses frames into the inboxes until close.
 */
export function serveTcp(socket, first, admit, log) {
  let pending = Buffer.alloc(0);
  let admitted = null;
  const timer = setTimeout(() => {
    log(`refused connection: no hello within ${HELLO_TIMEOUT_MS / 1000}s`);
    socket.destroy();
  }, HELLO_TIMEOUT_MS);
  const onHello = (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    if (pending.length < HEADER) return;
    const len = pending.readUInt32BE(0);
    const kind = pending[4];
    if (kind !== KIND.HELLO || len > MAX_CONTROL) {
      clearTimeout(timer);
      log(`refused connection: first frame is not a hello (kind byte ${kind}, declared length ${len})`);
      return socket.destroy();
    }
    if (pending.length < HEADER + len) return;
    clearTimeout(timer);
    socket.removeListener("data", onHello);
    let hello;
    try {
      hello = parseHello(pending.subarray(HEADER, HEADER + len).toString("utf8"));
    } catch (e) {
      log(`refused connection: ${e.message}`);
      return socket.destroy();
    }
    const answer = admit(hello);
    if (answer.refuse !== undefined) {
      log(`refused connection: ${answer.refuse}`);
      if (answer.tell) socket.end(controlFrame(KIND.REFUSE, answer.refuse));
      else socket.destroy();
      return;
    }
    admitted = answer;
    socket.write(controlFrame(KIND.ACCEPT, acceptJson(answer.limit)));
    const rest = pending.subarray(HEADER + len);
    new FrameReader(socket, hello.channel, hello.writer, answer.inboxes, answer.limit, log).start(rest);
  };
  socket.on("data", onHello);
  onHello(first);
  socket.on("error", () => {});
  socket.on("close", () => {
    clearTimeout(timer);
    if (admitted === null) socket.removeListener("data", onHello);
  });
  socket.resume();
}

class FrameReader {
  constructor(socket, channel, writer, inboxes, limit, log) {
    this.socket = socket;
    this.channel = channel;
    this.writer = writer;
    this.inboxes = inboxes;
    this.limit = limit;
    this.log = log;
    this.pending = null; // the start of a frame whose rest has not arrived
    this.body = null; // a large payload being assembled in place
    this.filled = 0;
    this.bodyKind = 0;
    this.done = false;
    this.paused = false;
  }

  start(rest) {
    const remote = this.socket.remoteAddress;
    let lastError = null;
    this.socket.on("error", (e) => (lastError = e));
    this.socket.on("data", (chunk) => this.feed(chunk));
    this.socket.on("close", () => {
      if (!this.done) this.fail(vanishedWriter(this.channel, this.writer, endReason(lastError, remote)), null);
    });
    if (rest.length) this.feed(rest);
  }

  feed(chunk) {
    if (this.done) return;
    let off = 0;
    if (this.body !== null) {
      const n = Math.min(chunk.length, this.body.length - this.filled);
      chunk.copy(this.body, this.filled, 0, n);
      this.filled += n;
      off = n;
      if (this.filled < this.body.length) return;
      const body = this.body;
      this.body = null;
      if (!this.deliver(this.bodyKind, body)) return;
    } else if (this.pending !== null) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const end = chunk.length;
    while (end - off >= HEADER) {
      const len = chunk.readUInt32BE(off);
      const kind = chunk[off + 4];
      if (kind === KIND.TEXT || kind === KIND.BYTES) {
        if (len > this.limit) {
          return this.fail(
            new ChannelError(
              `channel ${this.channel}: writer ${this.writer} declared a message of ${len} bytes, above the limit of ${this.limit} bytes; connection closed`,
            ),
            `message of ${len} bytes above the limit of ${this.limit} bytes`,
          );
        }
        const start = off + HEADER;
        if (end - start < len) {
          if (len >= COPY_BELOW) {
            this.body = Buffer.allocUnsafe(len);
            this.filled = chunk.copy(this.body, 0, start, end);
            this.bodyKind = kind;
            return;
          }
          break;
        }
        off = start + len;
        if (!this.deliver(kind, chunk.subarray(start, off))) return;
      } else if (kind === KIND.CLOSE && len === 0) {
        this.done = true;
        // Acknowledge first: every frame has been read; the reading processor's pace is not the writer's concern.
        this.socket.end(controlFrame(KIND.CLOSE));
        for (const inbox of this.inboxes) inbox.writerClosed();
        return;
      } else {
        return this.fail(
          protocolError(this.channel, `writer ${this.writer}`, `unexpected frame (kind byte ${kind}, length ${len})`),
          `unexpected frame kind ${kind}`,
        );
      }
    }
    if (off < end) this.pending = chunk.subarray(off);
  }

  /** Hands one message to every local reader of the channel; false if the connection failed. */
  deliver(kind, payload) {
    let message = payload;
    if (kind === KIND.TEXT) {
      if (payload.length > MAX_STRING_BYTES) {
        this.fail(
          new ChannelError(
            `channel ${this.channel}: text message of ${payload.length} bytes from writer ${this.writer} is longer than the longest string Node.js can hold (${MAX_STRING_BYTES}); send it as bytes`,
          ),
          "text message longer than the reader can hold",
        );
        return false;
      }
      if (!isUtf8(payload)) {
        this.fail(protocolError(this.channel, `writer ${this.writer}`, "text frame is not UTF-8"), "text frame is not UTF-8");
        return false;
      }
      message = payload.toString("utf8");
    }
    let room = true;
    for (const inbox of this.inboxes) room = inbox.offer(message) && room;
    if (!room && !this.paused) {
      this.paused = true;
      this.socket.pause();
      Promise.all(this.inboxes.map((inbox) => inbox.room())).then(() => {
        this.paused = false;
        if (!this.done) this.socket.resume();
      });
    }
    return true;
  }

  fail(error, tell) {
    if (this.done) return;
    this.done = true;
    this.log(error.message);
    // The refuse goes out before the connection closes; what the writer still sends is ignored.
    if (tell !== null) this.socket.end(controlFrame(KIND.REFUSE, tell));
    else this.socket.destroy();
    for (const inbox of this.inboxes) inbox.fail(error);
  }
}
