// A channel peer in a process of its own, for the conformance cases in which a peer vanishes: killing a
// process is how a peer really vanishes (no close frame, the kernel ends the connection).
//
//   node peer.mjs writer TRANSPORT HOST PORT SECRET CHANNEL WRITER COUNT
//     connects, sends COUNT bytes messages [i], writes "sent\n" to stdout once they are on the wire, and waits.
//   node peer.mjs reader SECRET CHANNEL
//     listens on 127.0.0.1:0 for one writer of CHANNEL, writes "PORT\n", then "got N\n" per message, and waits.

import { Endpoint } from "../src/endpoint.mjs";
import { Inbox } from "../src/inbox.mjs";
import { connectTcp } from "../src/tcp.mjs";
import { connectWs } from "../src/ws.mjs";

const [role, ...rest] = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 1 << 30);

if (role === "writer") {
  const [transport, host, port, secret, channel, writer, count] = rest;
  const connect = transport === "websocket" ? connectWs : connectTcp;
  const sink = await connect({ host, port: Number(port), secret, channel, writer });
  for (let i = 0; i < Number(count); i++) await sink.send(Uint8Array.of(i));
  // The batch goes out when the writer idles; after that turn every message is in the socket.
  await new Promise(setImmediate);
  await new Promise(setImmediate);
  process.stdout.write("sent\n");
} else if (role === "reader") {
  const [secret, channel] = rest;
  const endpoint = new Endpoint(secret, () => {});
  const inbox = new Inbox(channel, 1, { messages: 0, bytes: 0 });
  endpoint.register(channel, [inbox], 1);
  const { port } = await endpoint.listen("127.0.0.1", 0);
  process.stdout.write(`${port}\n`);
  for (let n = 1; ; n++) {
    await inbox.next();
    process.stdout.write(`got ${n}\n`);
  }
} else {
  clearInterval(keepAlive);
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
