// A class processor written against @rdfc/js-runner 3.x, extending its Processor base class.
import { Processor } from "@rdfc/js-runner";

export class Shout extends Processor {
  // Declared fields, as TypeScript emits them: they are reset after the base constructor assigned the
  // arguments, which is why a runner sets the arguments on the instance again.
  reader;
  writer;

  async init() {
    this.logger.info(`shouting from ${this.reader.uri.split("/").pop()} to ${this.get("writer").uri.split("/").pop()}`);
  }

  async transform() {
    for await (const line of this.reader.strings()) {
      await this.writer.string(`${line.toUpperCase()}!`);
    }
    await this.writer.close();
  }

  async produce() {}
}
