// The RDF-Connect class processors of `riffle bench js` (the same API as RDF-Connect's own benchmark
// processors): a source, a pass-through and a sink.

export class Source {
  constructor(args, logger) {
    this.logger = logger;
  }
  async init() {}
  async transform() {}
  async produce() {
    const payload = this.text ? "x".repeat(this.size) : new Uint8Array(this.size).fill(7);
    const send = this.text ? (m) => this.writer.string(m) : (m) => this.writer.buffer(m);
    for (let i = 0; i < this.count; i++) await send(payload);
    await this.writer.close();
  }
}

export class Pass {
  async init() {}
  async transform() {
    for await (const message of this.reader.buffers()) await this.writer.buffer(message);
    await this.writer.close();
  }
  async produce() {}
}

export class Sink {
  async init() {}
  async transform() {
    let messages = 0;
    let bytes = 0;
    for await (const message of this.reader.buffers()) {
      messages++;
      bytes += message.byteLength;
    }
    console.log(`${messages} messages, ${bytes} bytes`);
  }
  async produce() {}
}
