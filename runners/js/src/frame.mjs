// The TCP framing of channels/FRAMING.md: u32 big-endian payload length, one kind byte, the payload.

export const HEADER = 5;
export const KIND = { HELLO: 1, ACCEPT: 2, REFUSE: 3, TEXT: 4, BYTES: 5, CLOSE: 6 };
export const MAX_CONTROL = 65536;
export const VERSION = 1;
/** The default limit for one message (2^31 - 1): what every runner can hold in one array. */
export const DEFAULT_MAX_MESSAGE = 2147483647;

export function controlFrame(kind, payload = "") {
  const body = Buffer.from(payload, "utf8");
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame[4] = kind;
  body.copy(frame, HEADER);
  return frame;
}

export function helloJson(secret, channel, writer) {
  return JSON.stringify({ version: VERSION, secret, channel, writer });
}

export function acceptJson(limit) {
  return JSON.stringify({ version: VERSION, max_message: limit });
}

/** Parses a writer's hello; returns the object or throws with the reason. */
export function parseHello(text) {
  let hello;
  try {
    hello = JSON.parse(text);
  } catch (e) {
    throw new Error(`the hello is not JSON: ${e.message}`);
  }
  if (hello === null || typeof hello !== "object") throw new Error("the hello is not a JSON object");
  if (!Number.isInteger(hello.version)) throw new Error("the hello has no integer version");
  for (const field of ["secret", "channel", "writer"]) {
    if (typeof hello[field] !== "string") throw new Error(`the hello has no string ${field}`);
  }
  return hello;
}

/** Parses the reader's accept; returns its max_message. */
export function parseAccept(text) {
  const accept = JSON.parse(text);
  if (!Number.isInteger(accept?.max_message) || accept.max_message < 0) {
    throw new Error(`the accept has no max_message: ${text}`);
  }
  return accept.max_message;
}

/** Compares secrets in constant time (for equal lengths; a length difference is not secret). */
import { timingSafeEqual } from "node:crypto";
export function secretMatches(expected, given) {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
