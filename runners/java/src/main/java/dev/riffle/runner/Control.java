package dev.riffle.runner;

import dev.riffle.channels.RunTls;
import dev.riffle.channels.WsClient;
import java.net.InetAddress;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The WebSocket connection to the orchestrator: one JSON text message per frame, both ways. After
 * welcome a thread of its own reads it, so that pings are answered while the session is busy (in a
 * processor's init, say), and a heartbeat deadline turns the orchestrator's silence into an error.
 */
final class Control {
    /** Nothing, not even a ping, came from the orchestrator within the heartbeat deadline. */
    static final class Silent extends IOException {
        Silent(int millis) {
            super(String.format(java.util.Locale.ROOT,
                    "the orchestrator has been silent for %.1f s (no heartbeat); exiting", millis / 1000.0));
        }
    }

    /** What the reader thread hands over: a message, the end of the connection, or what broke it. */
    private record Received(String text, IOException failure) {}

    private final WsClient ws;
    private LinkedBlockingQueue<Received> received;

    private Control(WsClient ws) {
        this.ws = ws;
    }

    /** This side's address of the connection: where peers on the orchestrator's side reach this host. */
    InetAddress localAddress() {
        return ws.localAddress();
    }

    /** Connects to {@code url}: {@code ws://HOST:PORT}, or with {@code tls} (an encrypted run) {@code wss://}. */
    static Control connect(String url, RunTls tls) throws IOException {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IOException("RIFFLE_CONTROL_URL " + url + " is not a URL: " + e.getMessage());
        }
        String scheme = tls == null ? "ws" : "wss";
        if (!scheme.equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
            throw new IOException("RIFFLE_CONTROL_URL " + url + " is not ws://HOST:PORT or wss://HOST:PORT");
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        return new Control(WsClient.connect(uri.getHost(), uri.getPort(), path, tls));
    }

    void send(String json) throws IOException {
        ws.sendText(json);
    }

    /** Reads on a thread of its own from now on; with {@code heartbeatMillis > 0}, that much silence ends it. */
    void readInBackground(int heartbeatMillis) throws IOException {
        if (heartbeatMillis > 0) {
            ws.setReadTimeout(heartbeatMillis);
        }
        LinkedBlockingQueue<Received> queue = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            while (true) {
                try {
                    String text = ws.receiveText();
                    queue.add(new Received(text, null));
                    if (text == null) {
                        return;
                    }
                } catch (SocketTimeoutException e) {
                    queue.add(new Received(null, new Silent(heartbeatMillis)));
                    return;
                } catch (IOException e) {
                    queue.add(new Received(null, e));
                    return;
                }
            }
        }, "riffle-control-reader");
        reader.setDaemon(true);
        reader.start();
        received = queue;
    }

    /** The next message, or null once the orchestrator closed the connection. */
    String receive() throws IOException {
        if (received == null) {
            return ws.receiveText();
        }
        Received next;
        try {
            next = received.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the orchestrator");
        }
        if (next.failure() != null) {
            received.add(next); // every later call sees the same end
            throw next.failure();
        }
        if (next.text() == null) {
            received.add(next);
        }
        return next.text();
    }

    void close() {
        ws.close();
    }
}
