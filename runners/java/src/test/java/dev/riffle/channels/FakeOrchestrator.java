package dev.riffle.channels;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** The orchestrator's side of the control connection, for tests: a WebSocket server for one runner. */
public final class FakeOrchestrator implements AutoCloseable {
    private final ServerSocket server;
    private Socket socket;
    private Input in;
    private OutputStream out;

    public FakeOrchestrator() throws IOException {
        server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    }

    public String url() {
        return "ws://127.0.0.1:" + server.getLocalPort();
    }

    public void accept() throws IOException {
        socket = server.accept();
        in = new Input(socket.getInputStream(), 64 * 1024);
        out = socket.getOutputStream();
        Ws.serverHandshake(in, out);
    }

    public void send(String json) throws IOException {
        out.write(Ws.frame(Ws.TEXT, json.getBytes(StandardCharsets.UTF_8), false));
        out.flush();
    }

    /** The next text message; null when the runner closed or the connection ended. */
    public String receive() throws IOException {
        Ws.Frame f = new Ws.Frame();
        while (true) {
            try {
                Ws.readHeader(in, f);
            } catch (java.io.EOFException e) {
                return null;
            }
            byte[] p = Ws.readPayload(in, f);
            if (f.opcode == Ws.TEXT) {
                return new String(p, StandardCharsets.UTF_8);
            }
            if (f.opcode == Ws.CLOSE) {
                return null;
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
        }
        server.close();
    }
}
