package dev.riffle.channels;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import jdk.net.ExtendedSocketOptions;

/**
 * Liveness of data connections: a peer whose host or link goes silent must fail the connection within the
 * run's heartbeat deadline, not after the hours TCP waits by default. The kernel's keepalive probes do that
 * for an idle connection (a reader waiting for its writer) without a byte of the channel protocol and
 * without cost while data flows. Java cannot set {@code TCP_USER_TIMEOUT}, so unacknowledged writes are left
 * to the peer's side, whose reader probes.
 */
public final class Keepalive {
    /** Probes sent, one interval apart, after an idle interval: an unanswered link fails after three. */
    static final int PROBES = 2;
    /** How Linux words ETIMEDOUT, the error an unanswered probe ends a connection with. */
    private static final String TIMED_OUT = "Connection timed out";

    private Keepalive() {}

    /** The keepalive interval, in whole seconds (at least the 1 s the kernel counts in), for a deadline. */
    static int interval(int silenceMillis) {
        return Math.max(1, (int) Math.ceil(silenceMillis / (1000.0 * (PROBES + 1))));
    }

    /** Makes {@code socket} fail once its peer has been silent for about {@code silenceMillis}; 0: never. */
    static void watch(Socket socket, int silenceMillis) throws IOException {
        if (silenceMillis <= 0) {
            return;
        }
        int every = interval(silenceMillis);
        socket.setKeepAlive(true);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, every);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, every);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, PROBES);
    }

    /** Whether a read failed because the probes went unanswered (TLS wraps the socket's error in its own). */
    static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException && !(t instanceof SocketTimeoutException) && t.getMessage() != null
                    && t.getMessage().contains(TIMED_OUT)) {
                return true;
            }
        }
        return false;
    }

    /** What a failed read from {@code peer} says when it timed out, in the words of every runner. */
    static String reason(String peer) {
        return "the link to " + peer + " went silent: no answer to keepalive probes within the heartbeat deadline ("
                + TIMED_OUT + ")";
    }
}
