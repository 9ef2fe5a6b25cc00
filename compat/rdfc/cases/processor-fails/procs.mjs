// Written for this compatibility case: a JS class processor whose produce() fails after logging once.
import { Processor } from "@rdfc/js-runner";

export class Fail extends Processor {
  async init() {}
  async transform() {}
  async produce() {
    this.logger.info("about to fail");
    throw new Error(this.message);
  }
}
