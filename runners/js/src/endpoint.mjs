// The runner's data endpoint: one listening socket for every channel read here, over TCP framing and
// WebSocket alike. The first byte of a connection tells which: 0x00 starts a hello frame, 'G' an HTTP upgrade.

import net from "node:net";
import { constants as bufferConstants } from "node:buffer";
import { DEFAULT_MAX_MESSAGE, VERSION, secretMatches } from "./frame.mjs";
import { serveTcp } from "./tcp.mjs";

// The WebSocket side (ws.mjs and the `ws` package, about 50 ms to load) is loaded on the first upgrade.
let wsModule = null;
const loadWs = () => (wsModule ??= import("./ws.mjs"));

/** Connections still in their handshake at once; beyond this, new ones are dropped on arrival. */
const MAX_PENDING = 256;

export class Endpoint {
  /**
   * @param {string} secret the run's secret
   * @param {(line: string) => void} log where refusals are reported (the reader's side only)
   */
  constructor(secret, log, limit = Math.min(DEFAULT_MAX_MESSAGE, bufferConstants.MAX_LENGTH)) {
    this.secret = secret;
    this.log = log;
    this.limit = limit;
    this.channels = new Map(); // channel id -> { inboxes, expected, names }
    this.pending = 0;
    this.sockets = new Set();
    const admit = (hello) => this.admit(hello);
    this.admitHello = admit;
    this.ws = null;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket, admit));
  }

  /** Registers the local readers of a channel and how many writers from other runners it expects. */
  register(channel, inboxes, expected) {
    this.channels.set(channel, { inboxes, expected, names: new Set() });
  }

  listen(host, port) {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port }, () => {
        this.server.removeListener("error", reject);
        resolve(this.server.address());
      });
    });
  }

  accept(socket, admit) {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    if (this.pending >= MAX_PENDING) {
      this.log(`refused connection: ${MAX_PENDING} handshakes already pending`);
      return socket.destroy();
    }
    this.pending++;
    let counted = true;
    const settle = () => {
      if (counted) this.pending--;
      counted = false;
    };
    socket.on("close", settle);
    socket.on("error", () => {});
    socket.once("data", (first) => {
      socket.pause();
      settle();
      if (first[0] === 0x00) serveTcp(socket, first, admit, this.log);
      else if (first[0] === 0x47) this.upgrade(socket, first);
      else {
        this.log(`refused connection: garbage first byte 0x${first[0].toString(16).padStart(2, "0")} (neither a frame nor an HTTP upgrade)`);
        socket.destroy();
      }
    });
  }

  upgrade(socket, first) {
    if (this.ws !== null) return this.ws.take(socket, first);
    loadWs().then(({ WsAcceptor }) => {
      this.ws ??= new WsAcceptor(this.admitHello, this.log, this.limit);
      if (!socket.destroyed) this.ws.take(socket, first);
    });
  }

  /** Decides on a writer's hello: {inboxes, limit}, or {refuse, tell} (tell: whether the writer hears why). */
  admit(hello) {
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
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}
