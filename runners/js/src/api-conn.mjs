// The connector-architecture function-processor API (https://w3id.org/conn#, as @rdfc/js-runner 0.x
// gave it): readers with data(cb), on("data"|"end", cb) and end(); writers with push(), end() and
// on("end", cb). Messages are strings or Buffers.

import { EMPTY, END } from "./inbox.mjs";
import { currentProcessor, inProcessor } from "./logging.mjs";

const isThenable = (value) => value !== null && typeof value === "object" && typeof value.then === "function";

/**
 * A JS channel between function processors of this runner with one writer, as @rdfc/js-runner 1.0.0 has it:
 * ONE stream for the writer and every reader, whose end handlers (the writer's and the readers', in the
 * order registered) all run on every `end()`, from either side: `await disconnect(); await Promise.all(
 * handlers.map((h) => h()))`. Messages still queue in the readers' inboxes here, so a writer's end runs the
 * handlers once the readers have taken every message (the original's pushes had been handled by then).
 */
export class ConnStream {
  constructor(readers) {
    this.writerHandlers = [];
    this.readerHandlers = [];
    this.waiting = readers; // readers that have not yet reached the end of the channel
    this.drainWaiters = [];
    this.ended = new Promise((resolve) => {
      this.markEnded = resolve;
    });
  }
  /**
   * The original runs them in the order registered, which is set-up order. Riffle's `assign` lists processors
   * by id, not in the pipeline's order, so the writer's handlers come first here, then the readers', each in
   * the order registered: the order of a pipeline whose writing processor is set up before its readers.
   */
  on(handler, side) {
    // A handler's output is the processor's that registered it, whichever side's end() runs it.
    const processor = currentProcessor();
    const bound = processor === undefined ? handler : () => inProcessor(processor, handler);
    (side === "writer" ? this.writerHandlers : this.readerHandlers).push(bound);
  }
  async run() {
    await (async () => {})(); // the original's `await this.disconnect()`
    await Promise.all([...this.writerHandlers, ...this.readerHandlers].map((handler) => handler()));
    this.markEnded();
  }
  readerDrained() {
    if (--this.waiting > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
  drained() {
    return this.waiting <= 0 ? Promise.resolve() : new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}

export class ConnReader {
  constructor(inbox, stream = null) {
    this.inbox = inbox;
    this.stream = stream;
    this.dataHandlers = [];
    this.endHandlers = [];
    this.lastElement = undefined;
    this.ended = false;
    this.endCalled = null;
  }
  data(listener) {
    this.dataHandlers.push(listener);
    return this;
  }
  on(event, listener) {
    if (event === "data") this.dataHandlers.push(listener);
    else if (event === "end") {
      if (this.stream !== null) this.stream.on(listener, "reader");
      else this.endHandlers.push(listener);
    }
    return this;
  }
  /**
   * The processor wants no more input: the rest is dropped, and the end handlers run. Called while the
   * end handlers already run (an end handler ending a writer whose end handler ends this reader), it does
   * not wait for them, which would wait for itself.
   */
  end() {
    this.inbox.cancel();
    if (this.stream !== null) return this.stream.run();
    if (this.endCalled !== null) return Promise.resolve();
    return this.finish();
  }

  finish() {
    this.endCalled ??= (async () => {
      this.ended = true;
      if (this.abandoned) return;
      await Promise.all(this.endHandlers.map((handler) => handler()));
    })();
    return this.endCalled;
  }

  /**
   * Hands every message to the data handlers, one message at a time: the next is handed over once the
   * promises the handlers returned have settled, which is what backpressure means for callbacks. Resolves
   * when the channel ended and the end handlers have run; rejects with the first handler's error.
   */
  async pump() {
    for (;;) {
      let message = this.inbox.take();
      if (message === EMPTY) {
        await this.inbox.wait();
        continue;
      }
      if (message === END) {
        if (this.stream !== null) {
          this.ended = true;
          if (this.abandoned) return;
          this.stream.readerDrained();
          await this.stream.ended;
          return;
        }
        break;
      }
      if (typeof message !== "string" && message instanceof Uint8Array && !Buffer.isBuffer(message)) {
        message = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      }
      this.lastElement = message;
      const handlers = this.dataHandlers;
      if (handlers.length === 1) {
        const result = handlers[0](message);
        if (isThenable(result)) await result;
      } else {
        let waits = null;
        for (const handler of handlers) {
          const result = handler(message);
          if (isThenable(result)) (waits ??= []).push(result);
        }
        if (waits !== null) await Promise.all(waits);
      }
    }
    await this.finish();
  }
}

export class ConnWriter {
  constructor(writer, stream = null) {
    this.writer = writer;
    this.stream = stream;
    this.endHandlers = [];
    this.ended = null;
    this.whenEnded = new Promise((resolve) => {
      this.markEnded = resolve;
    });
  }
  push(item) {
    return this.writer.send(item);
  }
  /**
   * Ends the writer. As in @rdfc/js-runner 1.0.0, where writer and reader of a JS channel are one stream whose
   * end handlers run in the order they were registered (the writing processor's, set up first, before the
   * reading one's), this processor's end handlers start before the readers learn of the end.
   */
  end() {
    if (this.stream !== null) {
      this.ended ??= (async () => {
        this.markEnded();
        await this.writer.close();
        await this.stream.drained();
        await this.stream.run();
      })();
      return this.ended;
    }
    this.ended ??= (async () => {
      this.markEnded();
      const handlers = this.endHandlers.map((handler) => handler());
      await this.writer.close();
      await Promise.all(handlers);
    })();
    return this.ended;
  }
  on(event, listener) {
    if (event === "end") {
      if (this.stream !== null) this.stream.on(listener, "writer");
      else this.endHandlers.push(listener);
    }
    return this;
  }
}
