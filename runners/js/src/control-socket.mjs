// The control connection's WebSocket client (RFC 6455), just what the protocol needs: one text message per
// JSON object, pings answered, the close handshake. It replaces the `ws` package here because loading that
// costs about 50 ms of every run's start-up; `ws` is still loaded for WebSocket channels.
// The interface is the part of `ws`'s WebSocket the session uses: events open, message (data, isBinary),
// error, close; send(text), close(code), terminate(), readyState and _socket.

import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
const MAX_MESSAGE = 1 << 30;

function frame(opcode, payload) {
  const length = payload.length;
  const header = Buffer.alloc(length < 126 ? 6 : length < 65536 ? 8 : 14);
  header[0] = 0x80 | opcode;
  let at = 2;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
    at = 4;
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
    at = 10;
  }
  const mask = randomBytes(4);
  mask.copy(header, at);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, masked]);
}

export class ControlSocket extends EventEmitter {
  /** @param {import("./tls.mjs").RunTls | null} tls the run's identity for a wss:// URL, else null */
  constructor(url, tls = null) {
    super();
    this.readyState = CONNECTING;
    this._socket = null;
    this.buffer = Buffer.alloc(0);
    /** When bytes last came (performance.now()): the session's heartbeat deadline counts from here. */
    this.heardAt = performance.now();
    this.fragments = [];
    const target = new URL(url);
    const secure = target.protocol === "wss:";
    const options = {
      host: target.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(target.port || (secure ? 443 : 80)),
      path: target.pathname + target.search,
    };
    if (!secure) return this.request(options);
    // The upgrade goes out only on a connection whose peer presented the run's certificate, so neither it
    // nor the hello after it ever reaches anyone else.
    tls.connectPinned(options.host, options.port).then(
      (socket) => {
        if (this.readyState === CLOSED) return socket.destroy();
        this.request({ ...options, createConnection: () => socket });
      },
      (e) => this.fail(e),
    );
  }

  request(options) {
    const key = randomBytes(16).toString("base64");
    const request = http.request({
      ...options,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key },
    });
    request.on("upgrade", (response, socket, head) => {
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      if (response.headers["sec-websocket-accept"] !== accept) {
        socket.destroy();
        return this.fail(new Error("the server's Sec-WebSocket-Accept does not match"));
      }
      this._socket = socket;
      socket.setNoDelay(true);
      socket.on("data", (chunk) => this.feed(chunk));
      socket.on("error", () => {});
      socket.on("close", () => this.closed());
      this.readyState = OPEN;
      this.emit("open");
      if (head.length > 0) this.feed(head);
    });
    request.on("response", (response) => {
      response.resume();
      this.fail(new Error(`unexpected HTTP ${response.statusCode} instead of a WebSocket upgrade`));
    });
    request.on("error", (e) => this.fail(e));
    request.end();
  }

  fail(error) {
    if (this.readyState === CLOSED) return;
    this.emit("error", error);
    this.closed();
  }

  closed() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.emit("close");
  }

  feed(chunk) {
    this.heardAt = performance.now();
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.readyState !== CLOSED) {
      const b = this.buffer;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let length = b[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (length > MAX_MESSAGE) return this.protocolError("a frame too large");
      const maskAt = at;
      if (masked) at += 4;
      if (b.length < at + length) return;
      let payload = b.subarray(at, at + length);
      if (masked) {
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] ^= b[maskAt + (i & 3)];
      }
      this.buffer = b.subarray(at + length);
      this.frame(fin, opcode, payload);
    }
  }

  frame(fin, opcode, payload) {
    if (opcode === 0x9) return this.write(frame(0xa, payload)); // ping: pong
    if (opcode === 0xa) return;
    if (opcode === 0x8) {
      if (this.readyState === OPEN) this.write(frame(0x8, payload.subarray(0, 2)));
      this.readyState = CLOSING;
      this._socket.end();
      return;
    }
    if (opcode === 0x1 || opcode === 0x2) {
      this.opcode = opcode;
      this.fragments = [];
    } else if (opcode !== 0x0) return this.protocolError(`opcode ${opcode}`);
    this.fragments.push(payload);
    if (!fin) return;
    const data = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit("message", data, this.opcode === 0x2);
  }

  protocolError(what) {
    this.emit("error", new Error(`WebSocket protocol error: ${what}`));
    this.terminate();
  }

  write(bytes) {
    if (this._socket !== null && !this._socket.destroyed) this._socket.write(bytes);
  }

  send(text) {
    if (this.readyState === OPEN) this.write(frame(0x1, Buffer.from(text, "utf8")));
  }

  close(code = 1000) {
    if (this.readyState !== OPEN) {
      if (this.readyState === CONNECTING) this.terminate();
      return;
    }
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code, 0);
    this.write(frame(0x8, payload));
    this.readyState = CLOSING;
    // The server answers with its close frame, then ends the TCP connection.
    this._socket.once("end", () => this._socket.end());
  }

  terminate() {
    this._socket?.destroy();
    this.closed();
  }
}
