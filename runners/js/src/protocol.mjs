// Control protocol v1 (docs/protocol.md): the messages both sides send, checked field by field. Unknown
// fields are ignored; an unknown type or a missing or mistyped field is a protocol error.

export const VERSION = 1;

const LEVELS = ["debug", "info", "warn", "error"];
const PHASES = ["init", "transform", "produce"];
const ROLES = ["reader", "writer"];

const string = (v) => typeof v === "string";
const integer = (v) => Number.isInteger(v) && v >= 0;
const stringOrNull = (v) => v === null || typeof v === "string";
const object = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const oneOf = (values) => (v) => values.includes(v);
const listOf = (check) => (v) => Array.isArray(v) && v.every(check);
const shape = (fields) => (v) => object(v) && Object.entries(fields).every(([k, check]) => check(v[k]));
const mapOf = (check) => (v) => object(v) && Object.values(v).every(check);

const end = shape({ processor: string, argument: string, runner: string });

/** Runner to orchestrator. */
export const RUNNER_MESSAGES = {
  hello: { protocol: integer, secret: string, runner: string, language: string, pid: integer },
  listening: { endpoint: string },
  wired: {},
  initialised: {},
  finished: { processor: string },
  failed: { processor: string, phase: oneOf(PHASES), message: string, stack: stringOrNull },
  log: { processor: stringOrNull, level: oneOf(LEVELS), message: string },
  stats: {
    ends: listOf(shape({ channel: string, processor: string, role: oneOf(ROLES), messages: integer, bytes: integer })),
  },
  bye: {},
};

/** Orchestrator to runner. */
export const ORCHESTRATOR_MESSAGES = {
  welcome: { protocol: integer, run: string },
  refused: { reason: string },
  assign: {
    processors: listOf(shape({ id: string, class: string, implementation: object, arguments: object })),
    channels: listOf(
      shape({ id: string, transport: oneOf(["memory", "tcp", "websocket", "file", "http"]), writers: listOf(end), readers: listOf(end) }),
    ),
  },
  connect: { endpoints: mapOf(string) },
  init: {},
  start: {},
  stop: { reason: string },
};

export class ProtocolError extends Error {}

/** Parses one message sent by `from` ("runner" or "orchestrator"); throws a ProtocolError saying what is wrong. */
export function parseMessage(text, from) {
  const table = from === "runner" ? RUNNER_MESSAGES : ORCHESTRATOR_MESSAGES;
  let message;
  try {
    message = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`not JSON (${e.message}): ${text.slice(0, 200)}`);
  }
  return checkMessage(message, table);
}

export function checkMessage(message, table) {
  if (!object(message)) throw new ProtocolError("a message must be a JSON object");
  if (!string(message.type)) throw new ProtocolError("a message needs a string \"type\"");
  const fields = table[message.type];
  if (fields === undefined || !Object.hasOwn(table, message.type)) {
    throw new ProtocolError(`unknown message type "${message.type}"`);
  }
  for (const [field, check] of Object.entries(fields)) {
    if (!(field in message)) throw new ProtocolError(`"${message.type}" without "${field}"`);
    if (!check(message[field])) {
      throw new ProtocolError(`"${message.type}" with an invalid "${field}": ${JSON.stringify(message[field])?.slice(0, 200)}`);
    }
  }
  return message;
}
