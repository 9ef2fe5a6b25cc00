// The runner's data endpoint: one listening socket for every channel read here, over TCP framing and
// WebSocket alike. The first byte of a connection tells which: 0x00 starts a hello frame, 'G' an HTTP upgrade.
// In an encrypted run every connection is a TLS server handshake first, and that byte is the first one inside.

import { watch } from "./keepalive.mjs";
import net from "node:net";
import { constants as bufferConstants } from "node:buffer";
import { DEFAULT_MAX_MESSAGE, VERSION, secretMatches } from "./frame.mjs";
import { HELLO_TIMEOUT_MS, serveTcp } from "./tcp.mjs";

// The WebSocket side (ws.mjs and the `ws` package, about 50 ms to load) is loaded on the first upgrade.
let wsModule = null;
const loadWs = () => (wsModule ??= import("./ws.mjs"));

// The flood guard, the same in every runner (docs/protocol.md): at most MAX_PENDING connections that have not
// finished their hello. When one more arrives, the oldest that has been silent for SILENCE_MS (not one byte)
// is closed to make room; if none has, the arrival waits, paused and unread, until a pending connection
// settles or turns silent long enough. Node cannot stop accepting, so that wait is a queue here, bounded like
// the kernel's listen backlog that the other runners leave arrivals in.
export const MAX_PENDING = 256;
const LISTEN_BACKLOG = 4096;
const SILENCE_MS = HELLO_TIMEOUT_MS / 2;
/** The first byte of every TLS connection: a handshake record (the ClientHello). */
const TLS_HANDSHAKE = 0x16;

export class Endpoint {
  /**
   * @param {string} secret the run's secret
   * @param {(line: string) => void} log where refusals are reported (the reader's side only)
   * @param {{tls?: import("./tls.mjs").RunTls | null, keepAliveMs?: number | null, limit?: number}} options tls:
   *   the run's identity in an encrypted run (every connection must then be TLS), null in a plaintext one;
   *   keepAliveMs: when an idle connection starts being probed for a silent peer (null: never)
   */
  constructor(secret, log, { tls = null, keepAliveMs = null, limit = Math.min(DEFAULT_MAX_MESSAGE, bufferConstants.MAX_LENGTH) } = {}) {
    this.secret = secret;
    this.log = log;
    this.tls = tls;
    this.keepAliveMs = keepAliveMs;
    this.limit = limit;
    this.channels = new Map(); // channel id -> { inboxes, expected, names }
    this.pending = []; // oldest first: { socket, since, spoke, timer }
    this.waiting = []; // arrivals for which there is no room yet, oldest first
    this.recheck = null;
    this.sockets = new Set();
    this.admitHello = (hello, socket) => this.admit(hello, socket);
    this.ws = null;
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.arrive(socket));
  }

  /** Registers the local readers of a channel and how many writers from other runners it expects. */
  register(channel, inboxes, expected) {
    this.channels.set(channel, { inboxes, expected, names: new Set() });
  }

  listen(host, port) {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
        this.server.removeListener("error", reject);
        resolve(this.server.address());
      });
    });
  }

  arrive(socket) {
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      this.sockets.delete(socket);
      const waiting = this.waiting.indexOf(socket);
      if (waiting >= 0) this.waiting.splice(waiting, 1);
    });
    if (this.waiting.length >= LISTEN_BACKLOG) {
      this.log(`refused connection: ${LISTEN_BACKLOG} connections already wait for one of ${MAX_PENDING} handshakes`);
      return socket.destroy();
    }
    this.waiting.push(socket);
    this.makeRoom();
  }

  /** Moves waiting arrivals into the pending set while there is room or a silent connection to close. */
  makeRoom() {
    clearTimeout(this.recheck);
    this.recheck = null;
    while (this.waiting.length > 0) {
      if (this.pending.length >= MAX_PENDING) {
        const now = Date.now();
        const silent = this.pending.find((p) => !p.spoke);
        if (silent === undefined) return; // a settling one calls again
        if (now < silent.since + SILENCE_MS) {
          this.recheck = setTimeout(() => this.makeRoom(), silent.since + SILENCE_MS - now);
          return;
        }
        this.log(`closed a silent connection: ${MAX_PENDING} handshakes were pending and a newer one arrived`);
        clearTimeout(silent.timer);
        this.pending.splice(this.pending.indexOf(silent), 1);
        silent.socket.destroy();
      }
      this.start(this.waiting.shift());
    }
  }

  start(socket) {
    watch(socket, this.keepAliveMs);
    const entry = { socket, stream: socket, since: Date.now(), spoke: false, timer: null };
    // In an encrypted run this covers the TLS handshake too: a peer that never finishes it holds a place no longer.
    entry.timer = setTimeout(() => {
      this.log(`refused connection: no hello within ${HELLO_TIMEOUT_MS / 1000}s`);
      socket.destroy();
    }, HELLO_TIMEOUT_MS);
    this.pending.push(entry);
    socket.on("close", () => this.settle(socket));
    if (this.tls === null) this.serve(socket, entry);
    else this.handshake(socket, entry);
    socket.resume();
  }

  /** Reads the first byte of a connection (inside TLS in an encrypted run) and hands it to its framing. */
  serve(stream, entry) {
    stream.once("data", (first) => {
      stream.pause();
      entry.spoke = true;
      if (first[0] === 0x00) serveTcp(stream, first, (hello) => this.admit(hello, stream), this.log);
      else if (first[0] === 0x47) this.upgrade(stream, first);
      else {
        this.log(`refused connection: garbage first byte 0x${first[0].toString(16).padStart(2, "0")} (neither a frame nor an HTTP upgrade)`);
        stream.destroy();
      }
    });
  }

  /** The TLS server side of a connection in an encrypted run; what it decrypts is served as a plaintext one is. */
  handshake(socket, entry) {
    // The first byte is read before the handshake so that the flood guard sees the peer speak, and a
    // plaintext writer (a run's runners disagreeing about encryption) is told apart from a broken handshake.
    socket.once("data", (first) => {
      socket.pause();
      entry.spoke = true;
      if (first[0] !== TLS_HANDSHAKE) {
        this.log(`refused connection: not a TLS handshake (first byte 0x${first[0].toString(16).padStart(2, "0")}); every connection of this encrypted run must be TLS`);
        return socket.destroy();
      }
      socket.unshift(first); // TLSSocket takes what is buffered in the socket as the start of the handshake
      const secure = this.tls.accept(socket);
      entry.stream = secure;
      let established = false;
      secure.on("error", (e) => {
        if (!established) this.log(`refused connection: TLS handshake failed: ${e.reason ?? e.message}`);
        secure.destroy();
      });
      secure.once("secure", () => {
        established = true;
      });
      secure.on("close", () => socket.destroy());
      this.serve(secure, entry);
    });
  }

  /** The connection's hello is decided (or it is gone): its place in the pending set is free. */
  settle(socket) {
    const index = this.pending.findIndex((p) => p.socket === socket || p.stream === socket);
    if (index < 0) return;
    clearTimeout(this.pending[index].timer);
    this.pending.splice(index, 1);
    if (this.waiting.length > 0) this.makeRoom();
  }

  upgrade(socket, first) {
    if (this.ws !== null) return this.ws.take(socket, first);
    loadWs().then(({ WsAcceptor }) => {
      this.ws ??= new WsAcceptor(this.admitHello, this.log, this.limit);
      if (!socket.destroyed) this.ws.take(socket, first);
    });
  }

  /** Decides on a writer's hello: {inboxes, limit}, or {refuse, tell} (tell: whether the writer hears why). */
  admit(hello, socket) {
    this.settle(socket);
    if (!secretMatches(this.secret, hello.secret)) {
      return { refuse: `wrong secret in the hello of writer ${JSON.stringify(hello.writer)} for channel ${JSON.stringify(hello.channel)}`, tell: false };
    }
    if (hello.version !== VERSION) {
      return { refuse: `protocol version ${hello.version} is not supported (this endpoint speaks ${VERSION})`, tell: true };
    }
    const entry = this.channels.get(hello.channel);
    if (entry === undefined) return { refuse: `no reader for channel ${hello.channel} on this endpoint`, tell: true };
    if (entry.names.has(hello.writer)) {
      return { refuse: `channel ${hello.channel}: writer ${hello.writer} is already connected`, tell: true };
    }
    if (entry.names.size >= entry.expected) {
      return { refuse: `channel ${hello.channel}: more writers than the ${entry.expected} expected (refused ${hello.writer})`, tell: true };
    }
    entry.names.add(hello.writer);
    return { inboxes: entry.inboxes, limit: this.limit };
  }

  close() {
    clearTimeout(this.recheck);
    for (const entry of this.pending) clearTimeout(entry.timer);
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}
