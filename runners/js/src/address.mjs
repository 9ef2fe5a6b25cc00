// Where the data endpoint binds and what it is announced as: peers on other hosts must be able to reach
// what `listening` says. The Rust runner's address.rs does the same.

/** The address to bind: RIFFLE_DATA_LISTEN (HOST:PORT, a name allowed), else where this runner reached the orchestrator from, port 0. */
export function listenAddress(configured, controlIp) {
  if (configured) return configured;
  return `${bracketed(controlIp)}:0`;
}

/**
 * What `listening` announces: RIFFLE_DATA_ADVERTISE (with the bound port when it names none), else the bound
 * address, where a wildcard bind stands for the address this runner reached the orchestrator from.
 */
export function announced(bound, advertise, controlIp) {
  if (advertise) return hasPort(advertise) ? advertise : `${bracketed(advertise)}:${bound.port}`;
  const wildcard = bound.address === "0.0.0.0" || bound.address === "::";
  return `${bracketed(wildcard ? controlIp : bound.address)}:${bound.port}`;
}

function bracketed(host) {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function hasPort(text) {
  const at = text.lastIndexOf(":");
  if (at <= 0) return false;
  const host = text.slice(0, at);
  return (host.endsWith("]") || !host.includes(":")) && /^\d{1,5}$/.test(text.slice(at + 1));
}
