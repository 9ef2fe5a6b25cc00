// A JavaScript class processor (RDF-Connect API) between Rust built-ins: numbers every line it reads.
export class Number {
  constructor(args, logger) {
    this.logger = logger;
  }
  async init() {}
  async transform() {
    let n = 0;
    for await (const line of this.reader.strings()) {
      await this.writer.string(`${++n}. ${line}`);
    }
    await this.writer.close();
    this.logger.info(`numbered ${n} lines`);
  }
  async produce() {}
}
