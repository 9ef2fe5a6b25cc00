// The conformance processors of docs/adding-a-runner.md section 8, written against the RDF-Connect class
// API as any JS processor is: `new Class(args, logger)`, init(), transform(), produce(). Their classes and
// argument shapes are fixed in ontology/conformance.ttl; ../conformance.ttl says these implement them.

/** A message as the writer API takes it back: text stays text, bytes stay bytes. */
const echo = (writer, any) => ("string" in any ? writer.string(any.string) : writer.buffer(any.buffer));

/** rcf:Echo: every message it reads, unchanged and in order; closes its writer when its reader has ended. */
export class Echo {
  constructor({ reader, writer }) {
    this.reader = reader;
    this.writer = writer;
  }
  async init() {}
  async transform() {
    for await (const any of this.reader.anys()) await echo(this.writer, any);
    await this.writer.close();
  }
  async produce() {}
}

/** rcf:Slow: Echo, waiting `delayMs` before it reads each next group of `every` messages, on a timer (the runner goes on). */
export class Slow {
  constructor({ reader, writer, delayMs, every }) {
    this.reader = reader;
    this.writer = writer;
    this.delayMs = delayMs;
    this.every = Math.max(1, every ?? 1);
  }
  async init() {}
  async transform() {
    const messages = this.reader.anys()[Symbol.asyncIterator]();
    paced: for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      for (let i = 0; i < this.every; i++) {
        const { done, value } = await messages.next();
        if (done) break paced;
        await echo(this.writer, value);
      }
    }
    await this.writer.close();
  }
  async produce() {}
}

/** rcf:Arguments: one text message, the JSON of every argument it was given except `writer`. */
export class Arguments {
  constructor(args) {
    this.args = args;
  }
  async init() {}
  async transform() {}
  async produce() {
    const { writer, ...rest } = this.args;
    await writer.string(JSON.stringify(rest));
    await writer.close();
  }
}

/** rcf:Fail: throws an ordinary Error with `message` in init, after its first message, after its reader closed, or in produce. */
export class Fail {
  constructor({ reader, phase, message }) {
    this.reader = reader;
    this.phase = phase;
    this.message = message;
  }
  async init() {
    if (this.phase === "init") throw new Error(this.message);
  }
  async transform() {
    for await (const _ of this.reader.anys()) {
      if (this.phase === "transform") throw new Error(this.message);
    }
    if (this.phase === "close") throw new Error(this.message);
  }
  async produce() {
    if (this.phase === "produce") throw new Error(this.message);
  }
}

/** rcf:Crash: after its first message, ends the runner process at once with status 70, telling no one. */
export class Crash {
  constructor({ reader }) {
    this.reader = reader;
  }
  async init() {}
  async transform() {
    for await (const _ of this.reader.anys()) process.exit(70);
  }
  async produce() {}
}
