package dev.riffle.channels;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Writer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A writer connected to a reader endpoint in another process, over TCP framing or WebSocket (FRAMING.md).
 *
 * <p>Three parties: the sending processor encodes frames into the {@link Outbox}; a socket thread writes
 * whatever is queued; a watcher thread reads what the reader says (only the close acknowledgement, a refuse,
 * or the end of the connection), so a reader that goes away is noticed even while this writer is idle.
 */
public final class NetWriter implements Writer {
    /** Bytes a writer may queue before {@code send} waits for the socket. */
    static final long BUFFER = 1L << 20;

    private final Transport transport;
    private final String channel;
    private final String writerId;
    private final Socket socket;
    private final Input input;
    private final long limit;
    private final Outbox outbox = new Outbox(BUFFER);
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile boolean closeSent;
    private boolean closed;
    private final byte[] head = new byte[14];

    private NetWriter(Transport transport, String channel, String writerId, Socket socket, Input input, long limit) {
        this.transport = transport;
        this.channel = channel;
        this.writerId = writerId;
        this.socket = socket;
        this.input = input;
        this.limit = limit;
    }

    /** Connects, says hello and waits for the accept. */
    public static NetWriter connect(Transport transport, InetSocketAddress addr, Links links, String channel,
            String writerId, int helloTimeoutMillis) {
        Socket socket = new Socket();
        try {
            try {
                socket.connect(addr, helloTimeoutMillis);
            } catch (IOException e) {
                throw new ChannelException("channel " + channel + ": cannot connect to " + addr.getHostString() + ":"
                        + addr.getPort() + ": " + e.getMessage(), e);
            }
            socket.setTcpNoDelay(true);
            Keepalive.watch(socket, links.silenceMillis());
            socket.setSoTimeout(helloTimeoutMillis);
            if (links.tls() != null) {
                socket = links.tls().connect(socket, addr.getHostString(), addr.getPort());
            }
            Input in = new Input(socket.getInputStream(), 64 * 1024);
            OutputStream out = socket.getOutputStream();
            byte[] hello = new Hello(Hello.VERSION, links.secret(), channel, writerId).toJson();
            long limit;
            try {
                limit = transport == Transport.TCP ? tcpHandshake(in, out, hello) : wsHandshake(in, out, hello, addr);
            } catch (SocketTimeoutException e) {
                throw refused(channel, writerId, "no answer to the hello within " + helloTimeoutMillis + " ms");
            } catch (IOException e) {
                throw refused(channel, writerId, "the endpoint closed the connection without an answer ("
                        + e.getMessage() + ")");
            } catch (IllegalArgumentException e) {
                throw refused(channel, writerId, e.getMessage());
            }
            socket.setSoTimeout(0);
            NetWriter w = new NetWriter(transport, channel, writerId, socket, in, limit);
            w.start();
            return w;
        } catch (IOException e) {
            closeQuietly(socket);
            throw new ChannelException("channel " + channel + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(socket);
            throw e;
        }
    }

    private static ChannelException refused(String channel, String writer, String reason) {
        return new ChannelException("channel " + channel + ": the reader endpoint refused writer " + writer + ": " + reason);
    }

    private static long tcpHandshake(Input in, OutputStream out, byte[] hello) throws IOException {
        out.write(Frames.frame(Frames.HELLO, hello));
        out.flush();
        long len = in.u32();
        int kind = in.u8();
        if (len > Hello.MAX_CONTROL) {
            throw new IllegalArgumentException("control frame declares " + len + " bytes, above " + Hello.MAX_CONTROL);
        }
        byte[] payload = in.bytes((int) len);
        if (kind == Frames.ACCEPT) {
            return Hello.parseAccept(payload);
        }
        if (kind == Frames.REFUSE) {
            throw new IllegalArgumentException(new String(payload, StandardCharsets.UTF_8));
        }
        throw new IllegalArgumentException("unexpected answer to hello (kind byte " + kind + ")");
    }

    private static long wsHandshake(Input in, OutputStream out, byte[] hello, InetSocketAddress addr)
            throws IOException {
        Ws.clientHandshake(in, out, addr.getHostString() + ":" + addr.getPort(), "/");
        out.write(Ws.frame(Ws.TEXT, hello, true));
        out.flush();
        Ws.Frame f = new Ws.Frame();
        while (true) {
            Ws.readHeader(in, f);
            if (f.len > Hello.MAX_CONTROL) {
                throw new IllegalArgumentException("answer of " + f.len + " bytes, above " + Hello.MAX_CONTROL);
            }
            byte[] payload = Ws.readPayload(in, f);
            if (f.opcode == Ws.TEXT) {
                return Hello.parseAccept(payload);
            }
            if (f.opcode == Ws.CLOSE) {
                String reason = payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8)
                        : "the endpoint closed the connection without an answer";
                throw new IllegalArgumentException(reason);
            }
            if (f.opcode != Ws.PING && f.opcode != Ws.PONG) {
                throw new IllegalArgumentException("unexpected answer to the hello");
            }
        }
    }

    private void start() {
        Thread writer = new Thread(this::writeLoop, "riffle-writer " + channel);
        writer.setDaemon(true);
        writer.start();
        Thread watcher = new Thread(this::watch, "riffle-watcher " + channel);
        watcher.setDaemon(true);
        watcher.start();
    }

    /** The reader's limit for one message, from its accept. */
    public long readerLimit() {
        return limit;
    }

    @Override
    public String channel() {
        return channel;
    }

    @Override
    public synchronized void send(Message message) {
        if (closed) {
            throw new ChannelException("channel " + channel + ": writer " + writerId + " is closed");
        }
        byte[] payload = message.asBytes();
        if (payload.length > limit) {
            throw new ChannelException("channel " + channel + ": message of " + payload.length
                    + " bytes exceeds the limit of " + limit + " bytes");
        }
        try {
            outbox.begin();
            try {
                if (transport == Transport.TCP) {
                    int len = payload.length;
                    head[0] = (byte) (len >>> 24);
                    head[1] = (byte) (len >>> 16);
                    head[2] = (byte) (len >>> 8);
                    head[3] = (byte) len;
                    head[4] = (byte) (message.isText() ? Frames.TEXT : Frames.BYTES);
                    outbox.append(head, 0, 5);
                    outbox.append(payload, 0, len);
                } else {
                    int maskKey = ThreadLocalRandom.current().nextInt();
                    int h = Ws.header(head, 0, message.isText() ? Ws.TEXT : Ws.BINARY, payload.length, true, maskKey,
                            true);
                    outbox.append(head, 0, h);
                    outbox.appendMasked(payload, 0, payload.length, maskKey);
                }
            } finally {
                outbox.end();
            }
        } catch (Outbox.Failed e) {
            throw vanished(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelException("channel " + channel + ": interrupted while sending", e);
        }
    }

    /** Queues a pong (from the watcher thread). */
    private void pong(byte[] payload) {
        try {
            byte[] f = Ws.frame(Ws.PONG, payload, true);
            outbox.begin();
            try {
                outbox.append(f, 0, f.length);
            } finally {
                outbox.end();
            }
        } catch (Outbox.Failed | InterruptedException e) {
            // The connection is failing anyway; the failure is reported by send or close.
        }
    }

    private ChannelException vanished(String reason) {
        return new ChannelException("channel " + channel + ": the reader vanished (" + reason + ")");
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        outbox.close();
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(socket);
            throw new ChannelException("channel " + channel + ": interrupted while closing", e);
        } catch (ExecutionException e) {
            throw vanished(e.getCause().getMessage());
        } finally {
            closeQuietly(socket);
        }
    }

    /** Drops the connection without a close: the reader sees this writer vanish. */
    public void abort() {
        fail("the writer was aborted");
        closeQuietly(socket);
    }

    private void writeLoop() {
        List<Outbox.Chunk> batch = new ArrayList<>();
        try {
            OutputStream out = socket.getOutputStream();
            while (outbox.take(batch)) {
                for (Outbox.Chunk c : batch) {
                    out.write(c.data, 0, c.len);
                }
                outbox.written(batch);
                batch.clear();
            }
            if (done.isDone() || outbox.isFailed()) {
                return;
            }
            byte[] close = transport == Transport.TCP ? Frames.frame(Frames.CLOSE, new byte[0])
                    : Ws.frame(Ws.CLOSE, Ws.closePayload(1000, ""), true);
            closeSent = true;
            out.write(close);
            out.flush();
        } catch (IOException e) {
            fail("writing to the reader failed: " + e.getMessage());
        } catch (InterruptedException e) {
            fail("interrupted");
        }
    }

    private void fail(String reason) {
        outbox.fail(reason);
        done.completeExceptionally(new IOException(reason));
    }

    /** Reads what the reader says: nothing but a close acknowledgement is expected. */
    private void watch() {
        try {
            if (transport == Transport.TCP) {
                watchTcp();
            } else {
                watchWs();
            }
        } catch (IOException e) {
            if (closeSent) {
                fail("no acknowledgement of the close (" + describe(e) + ")");
            } else {
                fail(e instanceof java.io.EOFException ? "the reader closed the connection"
                        : "connection to the reader failed: " + e.getMessage());
            }
        }
    }

    private static String describe(IOException e) {
        return e instanceof java.io.EOFException ? "end of stream" : e.getMessage();
    }

    private void watchTcp() throws IOException {
        long len = input.u32();
        int kind = input.u8();
        byte[] payload = len <= Hello.MAX_CONTROL ? input.bytes((int) len) : new byte[0];
        if (kind == Frames.CLOSE && closeSent) {
            done.complete(null);
        } else if (kind == Frames.REFUSE) {
            fail("the reader closed the connection: " + new String(payload, StandardCharsets.UTF_8));
        } else if (kind == Frames.CLOSE) {
            fail("the reader closed the connection before this writer did");
        } else {
            fail("the reader sent unexpected data");
        }
    }

    private void watchWs() throws IOException {
        Ws.Frame f = new Ws.Frame();
        while (true) {
            Ws.readHeader(input, f);
            if (f.len > Hello.MAX_CONTROL) {
                fail("the reader sent an unexpected message");
                return;
            }
            byte[] payload = Ws.readPayload(input, f);
            switch (f.opcode) {
                case Ws.PING:
                    pong(payload);
                    break;
                case Ws.PONG:
                    break;
                case Ws.CLOSE: {
                    int code = payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
                    String reason = payload.length > 2
                            ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
                    if (closeSent && (code == 1000 || code == 1005)) {
                        done.complete(null);
                    } else {
                        fail("the reader closed the connection" + (reason.isEmpty() ? "" : ": " + reason));
                    }
                    return;
                }
                default:
                    fail("the reader sent an unexpected message");
                    return;
            }
        }
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Nothing more to do with a socket that cannot even close.
        }
    }
}
