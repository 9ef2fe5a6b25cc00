// What `import { Processor, extendLogger } from "@rdfc/js-runner"` gives a processor in this runner when the
// installed package is @rdfc/js-runner 3.x (see js-runner-hook.mjs): the same two exports, written here,
// without loading the package's own graph (gRPC, protobuf, rdf-lens, n3, winston: about 300 ms).
// `?real=<url>` names the installed package's entry module, whose own winston `extendLogger` uses, as the
// original does.

import { createRequire } from "node:module";
import { PLAIN_LOGGER, plainLogger } from "./logging.mjs";

const real = new URL(import.meta.url).searchParams.get("real");

/** @rdfc/js-runner 3.0.2's Processor, member for member. */
export class Processor {
  args;
  logger;
  constructor(args, logger) {
    Object.assign(this, args);
    this.args = args;
    this.logger = logger;
  }
  get(key) {
    return this.args[key];
  }
}

let winston = null;

/**
 * @rdfc/js-runner 3.0.2's extendLogger: a new winston Logger with the base's level, format, defaultMeta and
 * transports (an RpcTransport among them gets the entity added). A plain logger of this runner (a processor
 * whose package does not depend on winston) gives another plain logger of the same processor.
 */
export function extendLogger(baseLogger, newEntity) {
  if (baseLogger?.[PLAIN_LOGGER] !== undefined) return plainLogger(baseLogger[PLAIN_LOGGER]);
  winston ??= createRequire(real ?? import.meta.url)("winston");
  const newTransports = baseLogger.transports.map((t) =>
    t?.constructor?.name === "RpcTransport" && typeof t.withEntity === "function" ? t.withEntity(newEntity) : t,
  );
  return winston.createLogger({
    level: baseLogger.level,
    format: baseLogger.format,
    defaultMeta: baseLogger.defaultMeta,
    transports: newTransports,
  });
}
