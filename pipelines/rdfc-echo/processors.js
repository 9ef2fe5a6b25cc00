// RDF-Connect class processors: constructed with their arguments, then init(), transform(), produce().

export class Send {
  constructor(args, logger) {
    Object.assign(this, args);
    this.logger = logger;
  }
  async init() {}
  async transform() {}
  async produce() {
    for (let i = 0; i < this.repeat; i++) {
      for (const message of this.messages) {
        await this.writer.string(message);
      }
    }
    await this.writer.close();
  }
}

export class Echo {
  constructor(args, logger) {
    Object.assign(this, args);
    this.logger = logger;
  }
  async init() {}
  async transform() {
    for await (const message of this.reader.strings()) {
      await this.writer.string(message);
    }
    await this.writer.close();
  }
  async produce() {}
}

export class Log {
  constructor(args, logger) {
    Object.assign(this, args);
    this.logger = logger;
  }
  async init() {}
  async transform() {
    for await (const message of this.reader.strings()) {
      console.log(`${this.label ?? "log"}: ${message}`);
    }
  }
  async produce() {}
}
