// Channels over WebSocket (channels/FRAMING.md, "WebSocket mapping"): one channel message is one
// WebSocket message; text is text, bytes are binary.

import http from "node:http";
import WebSocket, { WebSocketServer } from "ws";
import { MAX_CONTROL, helloJson, parseAccept, parseHello, acceptJson } from "./frame.mjs";
import { Backpressure } from "./backpressure.mjs";
import { endReason } from "./keepalive.mjs";
import { ChannelError, refused, tooLarge, vanishedReader, vanishedWriter } from "./errors.mjs";
import { HELLO_TIMEOUT_MS } from "./tcp.mjs";

/** The socket's buffered bytes above which a writer waits for it to drain. */
const HIGH_WATER = 1 << 20;

// ------------------------------------------------------------------------------------------------------
// Writer side

/**
 * Connects a writer to a reader endpoint; resolves with a WsSink once the reader accepted it. With `tls`
 * (an encrypted run) the WebSocket runs over a TLS connection whose peer has presented the run's
 * certificate before the upgrade request, let alone the hello, is written.
 */
export async function connectWs({ host, port, secret, channel, writer, tls = null }) {
  let socket = null;
  if (tls !== null) {
    try {
      socket = await tls.connectPinned(host, port);
    } catch (e) {
      throw new ChannelError(`channel ${channel}: cannot connect to ${host}:${port}: ${e.message}`);
    }
  }
  return open({ host, port, secret, channel, writer, socket });
}

function open({ host, port, secret, channel, writer, socket }) {
  return new Promise((resolve, reject) => {
    const options = { perMessageDeflate: false, maxPayload: MAX_CONTROL };
    // ws://, not wss://: the TLS is the given socket's, already checked; `ws` is not to dial one of its own.
    if (socket !== null) options.createConnection = () => socket;
    const ws = new WebSocket(`ws://${host}:${port}/`, options);
    let settled = false;
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(error instanceof ChannelError ? error : refused(channel, writer, error));
    };
    const timer = setTimeout(() => fail(`no answer to the hello within ${HELLO_TIMEOUT_MS / 1000}s`), HELLO_TIMEOUT_MS);
    ws.on("open", () => ws.send(helloJson(secret, channel, writer)));
    ws.once("message", (data, isBinary) => {
      if (isBinary) return fail("the accept is not a text message");
      let limit;
      try {
        limit = parseAccept(data.toString("utf8"));
      } catch (e) {
        return fail(e.message);
      }
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners("close");
      ws.removeAllListeners("error");
      resolve(new WsSink(ws, channel, writer, limit));
    });
    ws.on("error", (e) => fail(new ChannelError(`channel ${channel}: cannot connect to ${host}:${port}: ${e.message}`)));
    ws.on("close", (code, reason) =>
      fail(code === 1006 ? "the endpoint closed the connection without an answer" : reason.toString() || `close code ${code}`),
    );
  });
}

export class WsSink {
  constructor(ws, channel, writer, limit) {
    this.ws = ws;
    // `ws` writes each message with its own socket write; corking the socket until the writer idles packs
    // them, as the TCP framing's batch buffer does.
    this.socket = ws._socket;
    this.channel = channel;
    this.writer = writer;
    this.limit = limit;
    this.corked = false;
    this.blocked = new Backpressure();
    this.error = null;
    this.closing = null;
    this.uncork = () => {
      this.corked = false;
      this.socket.uncork();
      if (this.socket.writableLength > HIGH_WATER) this.block();
    };
    ws.on("message", () => this.broken("the reader sent a message"));
    ws.on("error", (e) => this.broken(`connection to the reader failed: ${e.message}`));
    ws.on("close", (code, reason) => {
      if (this.closing !== null && code === 1000) return this.closing.resolve();
      this.broken(
        code === 1006 ? "the connection ended without a close frame" : `the reader closed the connection (${code} ${reason})`,
      );
    });
    this.socket.on("drain", () => {
      this.blocked.release();
    });
  }

  broken(reason) {
    if (this.error !== null) return;
    this.error = vanishedReader(this.channel, this.writer, reason);
    this.ws.terminate();
    this.blocked.fail(this.error);
    this.closing?.reject(this.error);
  }

  send(message) {
    if (this.error !== null) return Promise.reject(this.error);
    const binary = typeof message !== "string";
    if (binary ? message.byteLength > this.limit : message.length > this.limit / 3 && Buffer.byteLength(message) > this.limit) {
      return Promise.reject(tooLarge(this.channel, binary ? message.byteLength : Buffer.byteLength(message), this.limit));
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    this.ws.send(message, { binary, compress: false });
    if (this.socket.writableLength > HIGH_WATER * 4) {
      // A large batch: let it go now rather than at the end of the tick.
      this.corked = false;
      this.socket.uncork();
      this.block();
    }
    return this.blocked.wait();
  }

  block() {
    if (this.socket.writableLength > 0) this.blocked.engage();
  }

  close() {
    if (this.error !== null) return Promise.reject(this.error);
    if (this.corked) this.uncork();
    const done = new Promise((resolve, reject) => {
      this.closing = { resolve, reject };
    });
    this.ws.close(1000);
    return done;
  }

  abort() {
    this.error ??= new ChannelError(`channel ${this.channel}: writer ${this.writer} was stopped`);
    this.ws.terminate();
  }
}

// ------------------------------------------------------------------------------------------------------
// Reader side

/** Upgrades connections whose first byte was 'G' and serves them; one per endpoint. */
export class WsAcceptor {
  constructor(admit, log, limit) {
    this.admit = admit;
    this.log = log;
    // `ws` checks this from each frame's header and closes with 1009 before buffering the payload.
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: limit });
    this.http = http.createServer((req, res) => {
      res.writeHead(426, { "content-type": "text/plain" });
      res.end("this is a Riffle channel endpoint: WebSocket upgrades or TCP framing only\n");
    });
    this.http.on("upgrade", (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws));
    });
    this.http.on("clientError", (_e, socket) => socket.destroy());
  }

  /** Takes a raw connection whose first chunk has been read (and is handed back to the socket). */
  take(socket, first) {
    socket.pause();
    socket.unshift(first);
    this.http.emit("connection", socket);
    socket.resume();
  }

  serve(ws) {
    const timer = setTimeout(() => {
      this.log(`refused connection: no hello within ${HELLO_TIMEOUT_MS / 1000}s`);
      ws.terminate();
    }, HELLO_TIMEOUT_MS);
    ws.on("error", () => {});
    ws.once("message", (data, isBinary) => {
      clearTimeout(timer);
      let hello;
      try {
        if (isBinary) throw new Error("the hello is not a text message");
        if (data.length > MAX_CONTROL) throw new Error(`the hello is above ${MAX_CONTROL} bytes`);
        hello = parseHello(data.toString("utf8"));
      } catch (e) {
        this.log(`refused connection: ${e.message}`);
        return ws.close(1008, "refused");
      }
      const answer = this.admit(hello, ws._socket);
      if (answer.refuse !== undefined) {
        this.log(`refused connection: ${answer.refuse}`);
        return ws.close(1008, answer.tell ? answer.refuse.slice(0, 120) : "refused");
      }
      ws.send(acceptJson(answer.limit));
      this.read(ws, hello.channel, hello.writer, answer.inboxes, answer.limit);
    });
    ws.on("close", () => clearTimeout(timer));
  }

  read(ws, channel, writer, inboxes, limit) {
    let done = false;
    let paused = false;
    const remote = ws._socket.remoteAddress;
    let lastError = null;
    // `ws` turns a socket error into a 1006 close without telling what it was.
    ws._socket.on("error", (e) => (lastError = e));
    ws.on("message", (data, isBinary) => {
      if (done) return;
      if (data.length > limit) {
        done = true;
        const error = new ChannelError(
          `channel ${channel}: writer ${writer} declared a message of ${data.length} bytes, above the limit of ${limit} bytes; connection closed`,
        );
        this.log(error.message);
        ws.close(1008, "message above the limit");
        for (const inbox of inboxes) inbox.fail(error);
        return;
      }
      const message = isBinary ? data : data.toString("utf8");
      let room = true;
      for (const inbox of inboxes) room = inbox.offer(message) && room;
      if (!room && !paused) {
        paused = true;
        ws.pause();
        Promise.all(inboxes.map((inbox) => inbox.room())).then(() => {
          paused = false;
          if (!done) ws.resume();
        });
      }
    });
    ws.on("close", (code) => {
      if (done) return;
      done = true;
      if (code === 1009) {
        const error = new ChannelError(
          `channel ${channel}: writer ${writer} sent a message above the limit of ${limit} bytes; connection closed`,
        );
        this.log(error.message);
        for (const inbox of inboxes) inbox.fail(error);
      } else if (code === 1000) {
        for (const inbox of inboxes) inbox.writerClosed();
      } else {
        const error = vanishedWriter(channel, writer, code === 1006 ? endReason(lastError, remote) : `close code ${code}`);
        for (const inbox of inboxes) inbox.fail(error);
      }
    });
  }
}
