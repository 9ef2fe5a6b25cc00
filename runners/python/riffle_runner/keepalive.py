"""Liveness of data connections: a peer whose host or link goes silent must fail the connection within the
run's heartbeat deadline, not after the hours TCP waits by default. The kernel's keepalive probes do that for
an idle connection (a reader waiting for its writer, a writer with nothing to send), and TCP_USER_TIMEOUT for
one whose sent bytes go unacknowledged, without a byte of the channel protocol and without cost while data
flows. The same settings as the Rust and Java runners."""

import errno
import math
import socket

# Probes sent, one interval apart, after the connection has been idle for an interval: an unanswered link
# fails after three intervals, so an interval is a third of the deadline (at least the 1 s the kernel counts in).
PROBES = 2


def interval(silence_s: float) -> int:
    """The keepalive interval, in whole seconds, that makes an unanswered connection fail after about `silence_s`."""
    return max(1, math.ceil(silence_s / (PROBES + 1)))


def watch(sock: socket.socket, silence_s: float | None) -> None:
    """Makes `sock` fail with ETIMEDOUT once its peer has been silent for about `silence_s` (None: never)."""
    if silence_s is None:
        return
    every = interval(silence_s)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, every)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, every)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, PROBES)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, max(1, round(silence_s * 1000)))


def timed_out(error: BaseException | None) -> bool:
    """Whether a connection ended by the probes' verdict (TLS passes the socket's error on as its cause)."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ETIMEDOUT:
            return True
        error = error.__cause__ or error.__context__
    return False


def reason(error: BaseException | None, peer: str) -> str | None:
    """The silence the probes found, in the words of the other runners; None for any other end."""
    if not timed_out(error):
        return None
    return (f"the link to {peer} went silent: no answer to keepalive probes within the heartbeat deadline "
            f"({error})")
