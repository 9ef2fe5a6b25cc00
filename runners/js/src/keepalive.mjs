// Liveness of data connections: a peer whose host or link goes silent must fail the connection within the
// run's heartbeat deadline rather than after the hours TCP waits by default. The kernel's keepalive probes
// do it without a byte of the channel protocol. Node sets only when probing starts: libuv fixes the probes
// at ten, one second apart, so an unanswered link fails about ten seconds after that (the Rust, Java and
// Python runners set all three, and time out unacknowledged writes too).

/** When probing starts, for a run whose heartbeat deadline is `silenceMs` (null: no heartbeats, no probes). */
export function keepAliveDelay(silenceMs) {
  if (silenceMs === null || !(silenceMs > 0)) return null;
  return Math.max(1, Math.ceil(silenceMs / 3000)) * 1000;
}

/**
 * Why a reader's connection ended without its writer's close, given the socket error it saw last (or
 * none): a timeout is the silence the probes found.
 */
export function endReason(error, remoteAddress) {
  if (error?.code === "ETIMEDOUT") {
    return `the link to ${remoteAddress} went silent: no answer to keepalive probes within the heartbeat deadline (${error.message})`;
  }
  return "end of stream without a close frame";
}

/** Probes `socket` (plain or TLS: TLS sockets pass it to their TCP socket) once it is idle for `delayMs`. */
export function watch(socket, delayMs) {
  if (delayMs !== null) socket.setKeepAlive(true, delayMs);
}
