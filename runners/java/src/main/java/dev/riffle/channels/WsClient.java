package dev.riffle.channels;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A small blocking WebSocket client for text messages (the control connection). */
public final class WsClient {
    private final Socket socket;
    private final Input in;
    private final OutputStream out;
    private final Ws.Frame frame = new Ws.Frame();
    private boolean closeSent;

    private WsClient(Socket socket, Input in, OutputStream out) {
        this.socket = socket;
        this.in = in;
        this.out = out;
    }

    /** Connects to {@code host:port}; with {@code tls} (an encrypted run) only to a peer presenting its certificate. */
    public static WsClient connect(String host, int port, String path, RunTls tls) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(host, port), 10_000);
            s.setTcpNoDelay(true);
            if (tls != null) {
                s.setSoTimeout(10_000);
                s = tls.connect(s, host, port);
                s.setSoTimeout(0);
            }
            Input in = new Input(s.getInputStream(), 64 * 1024);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
            Ws.clientHandshake(in, out, host + ":" + port, path);
            return new WsClient(s, in, out);
        } catch (IOException e) {
            NetWriter.closeQuietly(s);
            throw e;
        }
    }

    /** This side's address of the connection. */
    public InetAddress localAddress() {
        return socket.getLocalAddress();
    }

    /** From now on a read that waits this long for a byte fails (SocketTimeoutException); 0: forever. */
    public void setReadTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    /** Sends one text message (thread-safe). */
    public synchronized void sendText(String text) throws IOException {
        out.write(Ws.frame(Ws.TEXT, text.getBytes(StandardCharsets.UTF_8), true));
        out.flush();
    }

    /** The next text message; null when the server closed the connection (or it ended). */
    public String receiveText() throws IOException {
        byte[] partial = null;
        while (true) {
            try {
                Ws.readHeader(in, frame);
            } catch (EOFException e) {
                return null;
            }
            if (frame.len > Integer.MAX_VALUE - 16) {
                throw new IOException("control message of " + frame.len + " bytes");
            }
            byte[] payload = Ws.readPayload(in, frame);
            switch (frame.opcode) {
                case Ws.TEXT:
                case Ws.CONTINUATION:
                    if (partial != null) {
                        byte[] joined = java.util.Arrays.copyOf(partial, partial.length + payload.length);
                        System.arraycopy(payload, 0, joined, partial.length, payload.length);
                        payload = joined;
                    }
                    if (frame.fin) {
                        return new String(payload, StandardCharsets.UTF_8);
                    }
                    partial = payload;
                    break;
                case Ws.PING:
                    synchronized (this) {
                        out.write(Ws.frame(Ws.PONG, payload, true));
                        out.flush();
                    }
                    break;
                case Ws.CLOSE:
                    synchronized (this) {
                        if (!closeSent) {
                            closeSent = true;
                            try {
                                out.write(Ws.frame(Ws.CLOSE, payload.length >= 2 ? java.util.Arrays.copyOf(payload, 2)
                                        : new byte[0], true));
                                out.flush();
                            } catch (IOException e) {
                                // Already gone.
                            }
                        }
                    }
                    return null;
                default:
                    break;
            }
        }
    }

    /** Sends a normal close frame (once) and closes the socket. */
    public synchronized void close() {
        try {
            if (!closeSent) {
                closeSent = true;
                out.write(Ws.frame(Ws.CLOSE, Ws.closePayload(1000, ""), true));
                out.flush();
            }
        } catch (IOException e) {
            // The orchestrator is gone already.
        }
        NetWriter.closeQuietly(socket);
    }
}
