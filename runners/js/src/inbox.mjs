// The receiving end of one channel for one reading processor: a bounded queue that every writer of the
// channel feeds (in-memory writers directly, network connections after parsing their frames), and that
// the processor's reader drains.
//
// A message is a JS string (text) or a Uint8Array (bytes). Nothing is copied or serialised on the way
// from an in-memory writer. A promise is made only when the queue is full (for the writer) or empty (for
// the reader), because a promise per message costs more than the whole hand-over.

/** The queue depth at which writers are made to wait; the same default as the Rust channels. */
export const QUEUE_MESSAGES = 1024;
/** ...or at which network connections stop reading, whichever comes first. */
export const QUEUE_BYTES = 8 << 20;

export const RESOLVED = Promise.resolve();

/**
 * Marks a promise that a send returns because a reader has no room (not because of a turn of the event
 * loop), so that the writer can count the wait as `blocked_us`. Such promises are rare: one per queue's
 * worth of messages at most.
 */
export const FOR_ROOM = Symbol("waits for room");
export function forRoom(promise) {
  promise[FOR_ROOM] = true;
  return promise;
}

// A writer whose sends resolve at once runs in microtasks only, which would starve timers and sockets
// (the control connection's `stop`, stats, network writers' flushes) for as long as the pipeline runs.
// So every so many sends, and whenever a full queue frees up (once per queue's worth of messages), the
// waiting side resumes from the macrotask queue instead.
const YIELD_EVERY = 1024;
let sends = 0;
const nextTurn = (resolve) => setImmediate(resolve);

/** What a send returns when it need not wait: RESOLVED, or now and then a turn of the event loop. */
export function sent() {
  if (++sends % YIELD_EVERY !== 0) return RESOLVED;
  return new Promise(nextTurn);
}

/** A growable ring buffer: `shift` without moving the rest. */
export class Deque {
  constructor(capacity = 64) {
    this.items = new Array(capacity);
    this.head = 0;
    this.size = 0;
  }
  push(item) {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = item;
    this.size++;
  }
  shift() {
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.size--;
    return item;
  }
  grow() {
    const old = this.items;
    const next = new Array(old.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
  clear() {
    this.items = new Array(64);
    this.head = 0;
    this.size = 0;
  }
}

/** A message's size in bytes; values other than strings and bytes (in memory only) count as 0. */
export function messageBytes(message) {
  return typeof message === "string" ? Buffer.byteLength(message) : (message?.byteLength ?? 0);
}

/** What `Inbox.take()` returns when nothing is queued yet. */
export const EMPTY = Symbol("empty");
/** What `Inbox.take()` returns once every writer has closed and the queue is drained. */
export const END = Symbol("end");

export class Inbox {
  /**
   * @param {string} channel the channel's id, for errors
   * @param {number} writers how many writers must close before the reader ends (fan-in)
   * @param {{messages:number, bytes:number}} stats the reader end's counters
   */
  constructor(channel, writers, stats, capacity = QUEUE_MESSAGES) {
    this.channel = channel;
    this.expected = writers;
    this.closedWriters = 0;
    this.capacity = capacity;
    this.queue = new Deque();
    this.queuedBytes = 0;
    this.stats = stats;
    this.error = null;
    this.cancelled = false;
    this.wake = null; // resolves a reader waiting on an empty queue
    this.roomWaiters = []; // writers waiting for room
    this.names = new Set(); // writer ids, to refuse duplicates
    this.onCancel = null; // a connector-architecture source (file, http) to stop when the reader cancels
    this.takeHook = null; // told how many messages the reader is done with (http waitHandled)
  }

  get ended() {
    return this.closedWriters >= this.expected;
  }

  /** Admits a writer by id; returns an error text when it cannot be admitted. */
  admit(writer) {
    if (this.names.has(writer)) return `writer ${writer} is already connected`;
    if (this.names.size >= this.expected) {
      return `more writers than the ${this.expected} the channel declares (refused ${writer})`;
    }
    this.names.add(writer);
    return null;
  }

  full() {
    return this.queue.size >= this.capacity || this.queuedBytes >= QUEUE_BYTES;
  }

  /** Queues a message; returns a promise to wait on when the queue is (now) full, else `RESOLVED`. */
  put(message) {
    if (this.cancelled) return sent();
    this.queue.push(message);
    if (typeof message !== "string") this.queuedBytes += message?.byteLength ?? 0;
    if (this.wake !== null) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
    if (this.full()) return forRoom(new Promise((resolve) => this.roomWaiters.push(resolve)));
    return sent();
  }

  /** Like `put` for network connections, which pause their socket instead of awaiting: true while room is left. */
  offer(message) {
    this.put(message);
    return !this.full();
  }

  /** Resolves once the queue has room (at once if it has). */
  room() {
    if (!this.full() || this.cancelled) return RESOLVED;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  writerClosed() {
    this.closedWriters++;
    if (this.ended) this.notify();
  }

  /** A writer vanished or broke the protocol: the reader gets what arrived, then this error. */
  fail(error) {
    if (this.error === null) this.error = error;
    this.notify();
  }

  notify() {
    if (this.wake !== null) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
  }

  /** The next message, or EMPTY, or END; throws the writer's error once the queue is drained. */
  take() {
    if (this.takeHook !== null) this.takeHook(this.stats.messages);
    if (this.queue.size > 0) {
      const message = this.queue.shift();
      if (typeof message !== "string") this.queuedBytes -= message?.byteLength ?? 0;
      this.stats.messages++;
      this.stats.bytes += messageBytes(message);
      if (this.roomWaiters.length > 0 && !this.full()) this.release();
      return message;
    }
    if (this.error !== null) throw this.error;
    if (this.ended || this.cancelled) return END;
    return EMPTY;
  }

  /** Resolves when `take` would return something other than EMPTY. */
  wait() {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  release() {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    setImmediate(() => {
      for (const resolve of waiters) resolve();
    });
  }

  /** The processor wants no more: discard what is queued and what comes, and let writers go on. */
  cancel() {
    if (!this.cancelled && this.onCancel !== null) this.onCancel();
    this.cancelled = true;
    this.queue.clear();
    this.queuedBytes = 0;
    this.release();
    this.notify();
  }

  /** Awaits and returns the next message, or END. */
  async next() {
    for (;;) {
      const message = this.take();
      if (message !== EMPTY) return message;
      await this.wait();
    }
  }
}
