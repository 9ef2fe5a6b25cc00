// What encryption costs a data channel: messages through the runner's real writer (ChannelWriter with a
// TcpSink or WsSink) to the runner's real data endpoint in another process, plaintext and TLS in the same
// run, over both framings, 64 B and 64 KiB messages, median of 3 runs, printed side by side.
//
//   node bench/tls.mjs [--runs N] [--scale F]
//
// A run's time is from the first send to the reader's acknowledgement of the close frame, so every message
// has been read and parsed on the other side; the connection and its handshake are made before. The reader
// is a process of its own (`node bench/tls.mjs reader plain|tls CHANNELS`), so writer and reader each have
// a core, as two runners would; it drains its inboxes as a processor's reader does.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Endpoint } from "../src/endpoint.mjs";
import { Inbox, EMPTY, END } from "../src/inbox.mjs";
import { ChannelWriter } from "../src/writer.mjs";
import { connectTcp } from "../src/tcp.mjs";
import { connectWs } from "../src/ws.mjs";
import { RunTls, parseIdentity } from "../src/tls.mjs";

const SECRET_FILE = fileURLToPath(new URL("../../../protocol/fixtures/tls/run.secret", import.meta.url));
const TEXT = readFileSync(SECRET_FILE, "utf8");
const SECRET = TEXT.split("\n")[0];
const identity = () => new RunTls(parseIdentity(TEXT));

const FRAMINGS = ["tcp", "websocket"];
const SIZES = [64, 64 << 10];
/** Messages per run at --scale 1: a few tenths of a second of plaintext on a 2-core machine. */
const COUNT = { 64: 2_000_000, [64 << 10]: 20_000 };

const [mode, ...rest] = process.argv.slice(2);

if (mode === "reader") {
  const [encryption, channels] = rest;
  const endpoint = new Endpoint(SECRET, (line) => process.stderr.write(`reader: ${line}\n`), {
    tls: encryption === "tls" ? identity() : null,
  });
  for (let c = 0; c < Number(channels); c++) {
    const inbox = new Inbox(`c${c}`, 1, { messages: 0, bytes: 0 });
    endpoint.register(`c${c}`, [inbox], 1);
    (async () => {
      for (;;) {
        const message = inbox.take();
        if (message === END) return;
        if (message === EMPTY) await inbox.wait();
      }
    })();
  }
  const { port } = await endpoint.listen("127.0.0.1", 0);
  console.log(port);
  // Gone with the parent.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
} else {
  const option = (name, fallback) => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? Number(process.argv[at + 1]) : fallback;
  };
  const runs = option("--runs", 3);
  const scale = option("--scale", 1);
  const cases = FRAMINGS.flatMap((framing) => SIZES.map((size) => ({ framing, size })));
  const channels = cases.length * runs;

  const startReader = (encryption) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "reader", encryption, String(channels)], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      child.stdout.once("data", (chunk) => resolve({ child, port: Number(chunk.toString().trim()) }));
      child.once("exit", (code) => reject(new Error(`the ${encryption} reader exited with ${code}`)));
    });
  const readers = { plain: await startReader("plain"), tls: await startReader("tls") };
  const tls = identity();

  const used = { plain: 0, tls: 0 }; // channels taken on each reader
  /** One run: seconds to move `count` messages of `size` bytes. */
  const measure = async (encryption, framing, size, count) => {
    const channel = `c${used[encryption]++}`;
    const writer = new ChannelWriter(channel, "w0", { messages: 0, bytes: 0, blocked_us: 0 });
    const connect = framing === "websocket" ? connectWs : connectTcp;
    writer.sinks.push(
      await connect({ host: "127.0.0.1", port: readers[encryption].port, secret: SECRET, tls: encryption === "tls" ? tls : null, channel, writer: "w0" }),
    );
    const payload = Buffer.alloc(size, 7);
    const started = performance.now();
    for (let i = 0; i < count; i++) await writer.send(payload);
    await writer.close();
    return (performance.now() - started) / 1000;
  };

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rows = [];
  for (const { framing, size } of cases) {
    const count = Math.max(1, Math.round(COUNT[size] * scale));
    const seconds = { plain: [], tls: [] };
    // Alternating, so that a change in the machine's load hits both alike.
    for (let run = 0; run < runs; run++) {
      for (const encryption of ["plain", "tls"]) seconds[encryption].push(await measure(encryption, framing, size, count));
    }
    const rate = (encryption) => count / median(seconds[encryption]);
    rows.push({ framing, size, count, plain: rate("plain"), tls: rate("tls") });
  }
  for (const { child } of Object.values(readers)) child.stdin.end();

  const sizeText = (size) => (size >= 1024 ? `${size >> 10} KiB` : `${size} B`);
  const number = (n, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const table = [
    ["framing", "size", "messages", "plain msg/s", "plain MB/s", "TLS msg/s", "TLS MB/s", "TLS/plain"],
    ...rows.map(({ framing, size, count, plain, tls: encrypted }) => [
      framing,
      sizeText(size),
      number(count),
      number(plain),
      number((plain * size) / 1e6, 1),
      number(encrypted),
      number((encrypted * size) / 1e6, 1),
      number(encrypted / plain, 2),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log(`node ${process.version}, median of ${runs} runs, MB = 10^6 bytes of payload`);
  for (const row of table) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
}
