// Follows its path arguments (rdf-lens lenses) from the subject of its rdfl:CBD argument.
import { Processor } from "@rdfc/js-runner";

export class Follow extends Processor {
  async init() {}

  async transform() {}

  async produce() {
    const start = { id: this.data[0].subject, quads: this.data };
    const values = (lens) => lens.execute(start).map((found) => (found.id.termType === "Literal" ? JSON.stringify(found.id.value) : found.id.termType));
    this.logger.info(`names: ${values(this.names).join(", ")}`);
    this.logger.info(`friends: ${values(this.friends).join(", ")}`);
    this.logger.info(`back: ${values(this.back).join(", ")}`);
  }
}
