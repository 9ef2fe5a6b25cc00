// The channels touching this runner, from `assign`: an inbox for every local reader, a writer for every
// local writer, the data endpoint, and the connections made on `connect`.

import { Inbox } from "./inbox.mjs";
import { ChannelWriter, MemorySink } from "./writer.mjs";
import { Endpoint } from "./endpoint.mjs";
import { connectTcp } from "./tcp.mjs";
import { connectWs } from "./ws.mjs";

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
  constructor({ runnerId, secret, channels, log }) {
    this.runnerId = runnerId;
    this.secret = secret;
    this.channels = channels;
    this.ends = []; // the stats of every end here
    this.inboxes = new Map();
    this.writers = new Map();
    this.endpoint = new Endpoint(secret, log);
    for (const channel of channels) {
      const local = channel.readers.filter((r) => r.runner === runnerId);
      const inboxes = local.map((reader) => {
        const inbox = new Inbox(channel.id, channel.writers.length, this.stat(channel.id, reader.processor, "reader"));
        this.inboxes.set(key(reader.processor, channel.id), inbox);
        return inbox;
      });
      if (inboxes.length > 0) {
        const remote = channel.writers.filter((w) => w.runner !== runnerId).length;
        this.endpoint.register(channel.id, inboxes, remote);
      }
      for (const writer of channel.writers.filter((w) => w.runner === runnerId)) {
        const name = `${writer.processor}#${writer.argument}`;
        const stats = this.stat(channel.id, writer.processor, "writer");
        this.writers.set(key(writer.processor, channel.id), new ChannelWriter(channel.id, name, stats));
      }
    }
  }

  stat(channel, processor, role) {
    // Writers also report how long their sends waited for room (blocked_us), as the Rust runner's do.
    const end = role === "writer" ? { channel, processor, role, messages: 0, bytes: 0, blocked_us: 0 } : { channel, processor, role, messages: 0, bytes: 0 };
    this.ends.push(end);
    return end;
  }

  inbox(processor, channel) {
    return this.inboxes.get(key(processor, channel));
  }

  writer(processor, channel) {
    return this.writers.get(key(processor, channel));
  }

  async listen(address) {
    const { host, port } = parseAddress(address);
    const bound = await this.endpoint.listen(host, port);
    const shown = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    return `${shown}:${bound.port}`;
  }

  /**
   * Connects every local writer to every reader: in memory here, over the channel's transport elsewhere
   * (one connection per reader runner). Resolves with the failures, each naming the writer's processor.
   */
  async connect(endpoints) {
    const jobs = [];
    const failures = [];
    for (const channel of this.channels) {
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
          const options = { ...target, secret: this.secret, channel: channel.id, writer: writer.name };
          jobs.push(
            connect(options).then(
              (sink) => writer.sinks.push(sink),
              (e) => failures.push({ processor: end.processor, message: e.message }),
            ),
          );
        }
      }
    }
    await Promise.all(jobs);
    return failures;
  }

  snapshot() {
    return this.ends.map((end) => ({ ...end }));
  }

  /** Stops everything: connections are dropped, not closed, so that readers elsewhere see a stop, not an end. */
  shutDown() {
    for (const writer of this.writers.values()) writer.abort();
    for (const inbox of this.inboxes.values()) inbox.cancel();
    this.endpoint.close();
  }
}
