// Written for this compatibility case (no published RDF-Connect 2 package declares rdfc:file as a string
// literal): a JS class processor in the shape js-runner 3.0.2 expects, logging through this.logger.
import { Processor } from "@rdfc/js-runner";

export class Greet extends Processor {
  async init() {
    this.logger.info(`init ${this.name}`);
  }
  async transform() {}
  async produce() {
    this.logger.info(`hello, ${this.name}, from procs/procs.mjs`);
  }
}
