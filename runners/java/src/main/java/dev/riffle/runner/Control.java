package dev.riffle.runner;

import dev.riffle.channels.WsClient;
import java.io.IOException;
import java.net.URI;

/** The WebSocket connection to the orchestrator: one JSON text message per frame, both ways. */
final class Control {
    private final WsClient ws;

    private Control(WsClient ws) {
        this.ws = ws;
    }

    static Control connect(String url) throws IOException {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IOException("RIFFLE_CONTROL_URL " + url + " is not a URL: " + e.getMessage());
        }
        if (!"ws".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
            throw new IOException("RIFFLE_CONTROL_URL " + url + " is not ws://HOST:PORT");
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        return new Control(WsClient.connect(uri.getHost(), uri.getPort(), path));
    }

    void send(String json) throws IOException {
        ws.sendText(json);
    }

    /** The next message, or null once the orchestrator closed the connection. */
    String receive() throws IOException {
        return ws.receiveText();
    }

    void close() {
        ws.close();
    }
}
