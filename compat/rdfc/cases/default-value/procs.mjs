// Written for this compatibility case (no published RDF-Connect 2 JS package declares an sh:defaultValue):
// a JS class processor that logs the arguments it was given.
import { Processor } from "@rdfc/js-runner";

export class Greet extends Processor {
  async init() {}
  async transform() {}
  async produce() {
    this.logger.info(`greeting=${JSON.stringify(this.greeting)} times=${JSON.stringify(this.times)} loud=${JSON.stringify(this.loud)}`);
    for (let i = 0; i < (this.times ?? 0); i++) this.logger.info(`${this.greeting}, ${this.name}`);
  }
}
