// What a network writer's send returns while its socket's buffer is above the high-water mark: one
// promise, made when the socket says stop, resolved on 'drain' and rejected when the connection breaks.

import { forRoom, sent } from "./inbox.mjs";

export class Backpressure {
  constructor() {
    this.pending = null;
  }

  engage() {
    if (this.pending !== null) return;
    let resolve, reject;
    const promise = forRoom(
      new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      }),
    );
    // Nobody may be waiting when the connection breaks; the writer's next call reports the error.
    promise.catch(() => {});
    this.pending = { promise, resolve, reject };
  }

  release() {
    const pending = this.pending;
    this.pending = null;
    pending?.resolve();
  }

  fail(error) {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }

  /** What a send resolves with: at once (or after a yield) while the socket has room. */
  wait() {
    return this.pending === null ? sent() : this.pending.promise;
  }
}
