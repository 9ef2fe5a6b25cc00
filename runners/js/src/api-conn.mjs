// The connector-architecture function-processor API (https://w3id.org/conn#, as @rdfc/js-runner 0.x
// gave it): readers with data(cb), on("data"|"end", cb) and end(); writers with push(), end() and
// on("end", cb). Messages are strings or Buffers.

import { EMPTY, END } from "./inbox.mjs";

const isThenable = (value) => value !== null && typeof value === "object" && typeof value.then === "function";

export class ConnReader {
  constructor(inbox) {
    this.inbox = inbox;
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
    else if (event === "end") this.endHandlers.push(listener);
    return this;
  }
  /**
   * The processor wants no more input: the rest is dropped, and the end handlers run. Called while the
   * end handlers already run (an end handler ending a writer whose end handler ends this reader), it does
   * not wait for them, which would wait for itself.
   */
  end() {
    this.inbox.cancel();
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
      if (message === END) break;
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
  constructor(writer) {
    this.writer = writer;
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
    this.ended ??= (async () => {
      this.markEnded();
      const handlers = this.endHandlers.map((handler) => handler());
      await this.writer.close();
      await Promise.all(handlers);
    })();
    return this.ended;
  }
  on(event, listener) {
    if (event === "end") this.endHandlers.push(listener);
    return this;
  }
}
