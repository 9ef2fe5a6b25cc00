// The channels touching this runner, from `assign`: an inbox for every local reader, a writer for every
// local writer, the data endpoint, and the connections made on `connect`.

import { Inbox } from "./inbox.mjs";
import { ConnStream } from "./api-conn.mjs";
import { ChannelWriter, MemorySink } from "./writer.mjs";
import { Endpoint } from "./endpoint.mjs";
import { connectTcp } from "./tcp.mjs";
import { keepAliveDelay, watch } from "./keepalive.mjs";
const connectWs = async (options) => (await import("./ws.mjs")).connectWs(options);
import { FileSink, FileSource, HttpSink, HttpSource, pairEnds } from "./conn-ends.mjs";

/** Transports whose one end is the connector architecture's own (a file, an HTTP server or client). */
const OWN_ENDS = { file: { reader: FileSource, writer: FileSink }, http: { reader: HttpSource, writer: HttpSink } };

const key = (processor, channel) => `${processor}\u0000${channel}`;

/** Splits `host:port` (or `[v6]:port`). */
export function parseAddress(text) {
  const at = text.lastIndexOf(":");
  if (at <= 0) throw new Error(`"${text}" is not HOST:PORT`);
  const host = text.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${text}" has no valid port`);
  return { host, port };
}

export class Wiring {
  /**
   * `tls`: the run's identity in an encrypted run, where every data connection is TLS; null otherwise.
   * `linkSilenceMs`: the run's heartbeat deadline, after which a silent data connection fails (null: none).
   */
  constructor({ runnerId, secret, tls = null, linkSilenceMs = null, channels, log, processorLog = () => {}, functionProcessors = new Set() }) {
    this.runnerId = runnerId;
    this.secret = secret;
    this.tls = tls;
    this.keepAliveMs = keepAliveDelay(linkSilenceMs);
    this.channels = channels;
    this.ends = []; // the stats of every end here
    this.inboxes = new Map();
    this.writers = new Map();
    this.endpoint = new Endpoint(secret, log, { tls, keepAliveMs: this.keepAliveMs });
    this.ownEnds = []; // file and http ends, initialised after the processors' setup
    // JS channels of the connector architecture: one writer and its readers, all function processors here.
    this.streams = new Map();
    for (const channel of channels) {
      const ends = [...channel.writers, ...channel.readers];
      if (channel.transport === "memory" && channel.writers.length === 1 && channel.readers.length > 0 &&
          ends.every((e) => e.runner === runnerId && functionProcessors.has(e.processor))) {
        this.streams.set(channel.id, new ConnStream(channel.readers.length));
      }
    }
    for (const channel of channels) {
      const own = OWN_ENDS[channel.transport];
      const local = channel.readers.filter((r) => r.runner === runnerId);
      const inboxes = local.map((reader) => {
        // A file or http reader is fed by its source, which never closes (as in the original); a reader
        // whose channel has no writer at all ends at once.
        const writers = own !== undefined ? 1 : channel.writers.length;
        const inbox = new Inbox(channel.id, writers, this.stat(channel.id, reader.processor, "reader"));
        this.inboxes.set(key(reader.processor, channel.id), inbox);
        if (own !== undefined) this.ownEnds.push(Object.assign(new own.reader(channel.options ?? {}, inbox), { processor: reader.processor }));
        return inbox;
      });
      if (inboxes.length > 0 && own === undefined) {
        const remote = channel.writers.filter((w) => w.runner !== runnerId).length;
        this.endpoint.register(channel.id, inboxes, remote);
      }
      for (const writer of channel.writers.filter((w) => w.runner === runnerId)) {
        const name = `${writer.processor}#${writer.argument}`;
        const stats = this.stat(channel.id, writer.processor, "writer");
        const channelWriter = new ChannelWriter(channel.id, name, stats);
        if (typeof channel.logLevel === "string") {
          channelWriter.logPayload = (text) => processorLog(writer.processor, channel.logLevel, text);
        }
        if (own !== undefined) {
          const sink = Object.assign(new own.writer(channel.options ?? {}), { processor: writer.processor });
          channelWriter.sinks.push(sink);
          this.ownEnds.push(sink);
        }
        this.writers.set(key(writer.processor, channel.id), channelWriter);
      }
    }
  }

  stat(channel, processor, role) {
    // Writers also report how long their sends waited for room (blocked_us), as the Rust runner's do.
    const end = role === "writer" ? { channel, processor, role, messages: 0, bytes: 0, blocked_us: 0 } : { channel, processor, role, messages: 0, bytes: 0 };
    this.ends.push(end);
    return end;
  }

  /** The shared stream of a connector-architecture JS channel (see ConnStream), or null. */
  connStream(channel) {
    return this.streams.get(channel) ?? null;
  }

  inbox(processor, channel) {
    return this.inboxes.get(key(processor, channel));
  }

  writer(processor, channel) {
    return this.writers.get(key(processor, channel));
  }

  /** Binds the data endpoint at `address` (HOST:PORT); resolves with the bound { address, port }. */
  async listen(address) {
    const { host, port } = parseAddress(address);
    return this.endpoint.listen(host, port);
  }

  /**
   * Connects every local writer to every reader: in memory here, over the channel's transport elsewhere
   * (one connection per reader runner). Resolves with the failures, each naming the writer's processor.
   */
  async connect(endpoints) {
    const jobs = [];
    const failures = [];
    for (const channel of this.channels) {
      if (OWN_ENDS[channel.transport] !== undefined) continue; // never wired to other runners
      for (const end of channel.writers.filter((w) => w.runner === this.runnerId)) {
        const writer = this.writer(end.processor, channel.id);
        const remote = new Set();
        for (const reader of channel.readers) {
          if (reader.runner === this.runnerId) writer.sinks.push(new MemorySink(this.inbox(reader.processor, channel.id)));
          else remote.add(reader.runner);
        }
        for (const runner of remote) {
          const address = endpoints[runner];
          if (address === undefined) {
            failures.push({ processor: end.processor, message: `channel ${channel.id}: connect gave no endpoint for runner ${runner}` });
            continue;
          }
          let target;
          try {
            target = parseAddress(address);
          } catch (e) {
            failures.push({ processor: end.processor, message: `channel ${channel.id}: endpoint of runner ${runner}: ${e.message}` });
            continue;
          }
          const connect = channel.transport === "websocket" ? connectWs : connectTcp;
          const options = { ...target, secret: this.secret, tls: this.tls, channel: channel.id, writer: writer.name };
          jobs.push(
            connect(options).then(
              (sink) => {
                watch(sink.socket, this.keepAliveMs);
                writer.sinks.push(sink);
              },
              (e) => failures.push({ processor: end.processor, message: e.message }),
            ),
          );
        }
      }
    }
    await Promise.all(jobs);
    return failures;
  }

  /** Opens the file and http ends (truncate, watch, listen), as the original does after every processor's setup. */
  async initOwnEnds() {
    pairEnds(this.ownEnds);
    // Writer ends first: a file writer empties its file before a reader of it takes its size.
    const writersFirst = [...this.ownEnds.filter((e) => !e.inbox), ...this.ownEnds.filter((e) => e.inbox)];
    for (const end of writersFirst) {
      try {
        await end.init();
      } catch (e) {
        throw Object.assign(new Error(`channel end of ${end.processor}: ${e.message}`), { processor: end.processor });
      }
    }
  }

  /** The sockets of this runner's writers to readers elsewhere. */
  outboundSockets() {
    const sockets = [];
    for (const writer of this.writers.values()) for (const sink of writer.sinks) if (sink.socket) sockets.push(sink.socket);
    return sockets;
  }

  /** Messages queued in this runner's inboxes that a live reader has not taken: [channel, count]. */
  queued() {
    return [...this.inboxes.values()].filter((inbox) => !inbox.cancelled && inbox.queue.size > 0).map((inbox) => [inbox.channel, inbox.queue.size]);
  }

  snapshot() {
    return this.ends.map((end) => ({ ...end }));
  }

  /** Stops everything: connections are dropped, not closed, so that readers elsewhere see a stop, not an end. */
  shutDown() {
    for (const writer of this.writers.values()) writer.abort();
    for (const inbox of this.inboxes.values()) inbox.cancel();
    for (const end of this.ownEnds) end.close?.();
    this.endpoint.close();
  }
}
