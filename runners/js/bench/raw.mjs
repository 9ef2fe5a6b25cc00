// Raw Node baselines for `riffle bench js`, the simplest careful hand-written links:
//   node raw.mjs memory SIZE N        one process, a bounded queue, a promise only when full or empty;
//                                     prints the seconds taken
//   node raw.mjs tcp-read             listens on 127.0.0.1:0, prints the address, reads length-prefixed
//                                     frames to the end of the stream, prints how many arrived and the
//                                     seconds from the first byte to the end
//   node raw.mjs tcp-write ADDR SIZE N  writes N frames of SIZE bytes packed into 1 MiB writes, then ends
import net from "node:net";

const [mode, ...args] = process.argv.slice(2);

if (mode === "memory") {
  const [size, n] = args.map(Number);
  const payload = Buffer.alloc(size, 7);
  const queue = [];
  let head = 0;
  let wake = null;
  let room = null;
  let done = false;
  const start = performance.now();
  const writer = (async () => {
    for (let i = 0; i < n; i++) {
      queue.push(payload);
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
      if (queue.length - head >= 1024) await new Promise((r) => (room = r));
    }
    done = true;
    if (wake) wake();
  })();
  let got = 0;
  for (;;) {
    if (head < queue.length) {
      queue[head++] = undefined;
      got++;
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      }
      if (room && queue.length - head < 1024) {
        const r = room;
        room = null;
        r();
      }
      continue;
    }
    if (done) break;
    await new Promise((r) => (wake = r));
  }
  await writer;
  if (got !== n) throw new Error(`got ${got} of ${n}`);
  console.log(((performance.now() - start) / 1000).toFixed(6));
} else if (mode === "tcp-read") {
  const server = net.createServer((socket) => {
    let got = 0;
    let first = 0;
    let pending = null;
    let need = 0; // bytes still to skip of the current payload
    socket.on("data", (chunk) => {
      if (first === 0) first = performance.now();
      let off = 0;
      if (need > 0) {
        const skip = Math.min(need, chunk.length);
        need -= skip;
        off = skip;
      }
      if (pending) {
        chunk = Buffer.concat([pending, chunk.subarray(off)]);
        off = 0;
        pending = null;
      }
      while (chunk.length - off >= 5) {
        const len = chunk.readUInt32BE(off);
        got++;
        if (chunk.length - off - 5 >= len) off += 5 + len;
        else {
          need = len - (chunk.length - off - 5);
          off = chunk.length;
        }
      }
      if (off < chunk.length) pending = chunk.subarray(off);
    });
    socket.on("end", () => {
      console.log(`${got} ${((performance.now() - first) / 1000).toFixed(6)}`);
      server.close();
    });
  });
  server.listen(0, "127.0.0.1", () => console.log(`127.0.0.1:${server.address().port}`));
} else if (mode === "tcp-write") {
  const [addr, sizeText, nText] = args;
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const size = Number(sizeText);
  const n = Number(nText);
  const payload = Buffer.alloc(size, 7);
  const socket = net.connect({ host, port }, async () => {
    socket.setNoDelay(true);
    // 1 MiB per write, as much as the channel's writer hands the socket at once (raw.rs says why it matters).
    const batch = 1024 * 1024;
    let buf = Buffer.allocUnsafe(batch);
    let used = 0;
    for (let i = 0; i < n; i++) {
      if (used + 5 + size > batch) {
        if (!socket.write(buf.subarray(0, used))) await new Promise((r) => socket.once("drain", r));
        buf = Buffer.allocUnsafe(batch);
        used = 0;
      }
      if (5 + size > batch) {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(size, 0);
        head[4] = 5;
        socket.write(head);
        if (!socket.write(payload)) await new Promise((r) => socket.once("drain", r));
        continue;
      }
      buf.writeUInt32BE(size, used);
      buf[used + 4] = 5;
      payload.copy(buf, used + 5);
      used += 5 + size;
    }
    socket.end(buf.subarray(0, used));
  });
} else {
  console.error("usage: raw.mjs memory SIZE N | tcp-read | tcp-write ADDR SIZE N");
  process.exit(2);
}
