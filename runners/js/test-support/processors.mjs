// Class processors for the runner's own tests.
export class Generator {
  constructor(args, logger) {
    this.logger = logger;
  }
  async init() {}
  async transform() {}
  async produce() {
    const message = "abcdefghijklmnopqrstuvwxyz".repeat(Math.ceil(this.size / 26)).slice(0, this.size);
    for (let i = 0; i < this.count; i++) await this.writer.string(message);
    await this.writer.close();
    this.logger.info(`sent ${this.count} messages`);
  }
}

export class Counter {
  constructor(args, logger) {
    this.logger = logger;
  }
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

export class Thrower {
  async init() {}
  async transform() {}
  async produce() {
    throw new Error("deliberate failure");
  }
}
