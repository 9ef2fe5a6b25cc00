// JS class processors (RDF-Connect API) for riffle's end-to-end tests.

/** Writes `count` messages of `size` bytes; message i starts with "i:" so that readers can check order. */
export class Numbers {
  constructor(args, logger) {
    this.logger = logger;
  }
  async init() {}
  async transform() {}
  async produce() {
    const pad = "abcdefghijklmnopqrstuvwxyz".repeat(Math.ceil(this.size / 26) + 1);
    for (let i = 0; i < this.count; i++) {
      const head = `${i}:`;
      await this.writer.string(head + pad.slice(0, this.size - head.length));
    }
    await this.writer.close();
    this.logger.info(`sent ${this.count} messages`);
  }
}

/** Counts messages and bytes and checks that "i:" prefixes, when present, come in order. */
export class Tally {
  constructor(args, logger) {
    this.logger = logger;
  }
  async init() {}
  async transform() {
    let messages = 0;
    let bytes = 0;
    let ordered = true;
    for await (const message of this.reader.strings()) {
      const colon = message.indexOf(":");
      if (colon > 0 && message.slice(0, colon) !== String(messages)) ordered = false;
      messages++;
      bytes += Buffer.byteLength(message);
    }
    console.log(`${messages} messages, ${bytes} bytes, ${ordered ? "in order" : "OUT OF ORDER"}`);
  }
  async produce() {}
}

/** Fails on the first message it reads. */
export class Explode {
  async init() {}
  async transform() {
    for await (const message of this.reader.strings()) {
      throw new Error(`cannot take ${JSON.stringify(message.slice(0, 8))}`);
    }
  }
  async produce() {}
}
