package dev.riffle.channels;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The reader side of the network: one listening port serving every channel whose reader lives in this
 * process, over TCP framing and WebSocket alike (the first byte tells: {@code 0x00} starts a frame, {@code G}
 * an HTTP upgrade). One thread per connection parses frames out of a 256 KiB buffer and hands messages to the
 * channel's {@link Inbox} in batches.
 */
public final class Endpoint implements AutoCloseable {
    static final int READ_BUFFER = 256 * 1024;
    static final int BATCH_BYTES = 256 * 1024;
    static final int BATCH_MESSAGES = 4096;
    /**
     * The flood guard, the same in every runner (docs/protocol.md): at most this many connections that have not
     * finished their hello. When one more arrives, the oldest that has been silent for {@code silenceMillis} (not
     * one byte) is closed to make room; if none has, the endpoint stops accepting until a pending connection
     * settles or turns silent long enough, and arrivals wait in the kernel's listen backlog. Silent connections
     * wait in one selector on the accept thread; one that speaks gets a thread of its own for the rest.
     */
    static final int MAX_PENDING = 256;
    static final int LISTEN_BACKLOG = 4096;

    private final ServerSocketChannel server;
    private final Selector selector;
    /** Connections that have not sent a byte yet, oldest first, with when they were accepted (ms). */
    private final LinkedHashMap<SelectionKey, Long> silent = new LinkedHashMap<>();
    private final long silenceMillis;
    private final byte[] secret;
    private final RunTls tls;
    private final int linkSilenceMillis;
    private final long maxMessage;
    private final int helloTimeoutMillis;
    private final Map<String, Inbox> readers = new ConcurrentHashMap<>();
    /** Connections that spoke and are in their handshake, on threads of their own. */
    private final AtomicInteger handshaking = new AtomicInteger();
    private final Consumer<String> warn;
    private volatile boolean closed;

    private Endpoint(ServerSocketChannel server, Selector selector, Links links, long maxMessage,
            int helloTimeoutMillis, Consumer<String> warn) {
        this.server = server;
        this.selector = selector;
        this.silenceMillis = helloTimeoutMillis / 2;
        this.secret = links.secret().getBytes(StandardCharsets.UTF_8);
        this.tls = links.tls();
        this.linkSilenceMillis = links.silenceMillis();
        this.maxMessage = maxMessage;
        this.helloTimeoutMillis = helloTimeoutMillis;
        this.warn = warn;
    }

    /** Listens on {@code host:port} (port 0 picks a free one). {@code warn} gets refused connections. */
    public static Endpoint bind(String host, int port, Links links, Consumer<String> warn) throws IOException {
        return bind(new InetSocketAddress(InetAddress.getByName(host), port), links, Integer.MAX_VALUE,
                helloTimeoutMillis(), warn);
    }

    /** How long a connection may take over its hello, both ends: RIFFLE_HELLO_TIMEOUT_MS (tests shorten it), else 10 s. */
    public static int helloTimeoutMillis() {
        try {
            int ms = Integer.parseInt(System.getenv().getOrDefault("RIFFLE_HELLO_TIMEOUT_MS", ""));
            return ms > 0 ? ms : 10_000;
        } catch (NumberFormatException e) {
            return 10_000;
        }
    }

    public static Endpoint bind(InetSocketAddress addr, Links links, long maxMessage, int helloTimeoutMillis,
            Consumer<String> warn) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        // Thousands of writers may connect at once while the flood guard lets MAX_PENDING at a time through.
        server.bind(addr, LISTEN_BACKLOG);
        server.configureBlocking(false);
        Selector selector = Selector.open();
        Endpoint e = new Endpoint(server, selector, links, maxMessage, helloTimeoutMillis, warn);
        Thread accept = new Thread(e::acceptLoop, "riffle-endpoint " + server.socket().getLocalPort());
        accept.setDaemon(true);
        accept.start();
        return e;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.socket().getLocalSocketAddress();
    }

    /** Registers the reader of a channel, expecting {@code expectedWriters} writers in all. */
    public Inbox register(String channel, int expectedWriters) {
        Inbox inbox = new Inbox(channel, expectedWriters);
        if (readers.putIfAbsent(channel, inbox) != null) {
            throw new ChannelException(
                    "channel " + channel + ": a reader for this channel is already registered on this endpoint");
        }
        return inbox;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // Closing a listener only fails if it is already broken.
        }
        selector.wakeup();
    }

    private void acceptLoop() {
        SocketChannel held = null; // an arrival waiting for room
        try {
            SelectionKey accepting = server.register(selector, SelectionKey.OP_ACCEPT);
            while (!closed) {
                long now = System.currentTimeMillis();
                Iterator<Map.Entry<SelectionKey, Long>> oldest = silent.entrySet().iterator();
                while (oldest.hasNext()) {
                    Map.Entry<SelectionKey, Long> entry = oldest.next();
                    if (now - entry.getValue() < helloTimeoutMillis) {
                        break;
                    }
                    oldest.remove();
                    warn.accept("refused connection from " + peer(entry.getKey()) + ": no hello within "
                            + helloTimeoutMillis + " ms");
                    closeKey(entry.getKey());
                }
                if (held != null && makeRoom(now)) {
                    listen(held, now);
                    held = null;
                }
                while (held == null && !closed) {
                    SocketChannel arrived = server.accept();
                    if (arrived == null) {
                        break;
                    }
                    if (makeRoom(now)) {
                        listen(arrived, now);
                    } else {
                        held = arrived;
                    }
                }
                accepting.interestOps(held == null ? SelectionKey.OP_ACCEPT : 0);
                long next = Long.MAX_VALUE;
                if (!silent.isEmpty()) {
                    long since = silent.values().iterator().next();
                    next = since + helloTimeoutMillis;
                    if (held != null) {
                        next = Math.min(next, since + silenceMillis);
                    }
                }
                if (next == Long.MAX_VALUE) {
                    selector.select();
                } else {
                    selector.select(Math.max(1, next - System.currentTimeMillis()));
                }
                spoke();
            }
        } catch (IOException e) {
            if (!closed) {
                warn.accept("the data endpoint stopped accepting: " + e.getMessage());
            }
        } finally {
            for (SelectionKey key : silent.keySet()) {
                closeKey(key);
            }
            silent.clear();
            if (held != null) {
                NetWriter.closeQuietly(held.socket());
            }
        }
    }

    /** Room for one more pending connection, closing the oldest silent one if it has been silent long enough. */
    private boolean makeRoom(long now) throws IOException {
        if (silent.size() + handshaking.get() < MAX_PENDING) {
            return true;
        }
        // Bytes may have arrived since the last look.
        selector.selectNow();
        spoke();
        if (silent.size() + handshaking.get() < MAX_PENDING) {
            return true;
        }
        if (silent.isEmpty()) {
            return false;
        }
        Map.Entry<SelectionKey, Long> oldest = silent.entrySet().iterator().next();
        if (now - oldest.getValue() < silenceMillis) {
            return false;
        }
        silent.remove(oldest.getKey());
        warn.accept("closed a silent connection from " + peer(oldest.getKey()) + ": " + MAX_PENDING
                + " handshakes were pending and a newer one arrived");
        closeKey(oldest.getKey());
        return true;
    }

    private void listen(SocketChannel arrived, long now) throws IOException {
        arrived.configureBlocking(false);
        silent.put(arrived.register(selector, SelectionKey.OP_READ), now);
    }

    /** Hands every silent connection that has something to read to a thread of its own. */
    private void spoke() throws IOException {
        ArrayList<SelectionKey> ready = new ArrayList<>();
        for (SelectionKey key : selector.selectedKeys()) {
            if (key.isValid() && key.channel() instanceof SocketChannel && key.isReadable()) {
                ready.add(key);
            }
        }
        selector.selectedKeys().clear();
        if (ready.isEmpty()) {
            return;
        }
        for (SelectionKey key : ready) {
            key.cancel();
        }
        // A cancelled key is deregistered only by the next selection; until then the channel cannot block.
        selector.selectNow();
        selector.selectedKeys().clear();
        for (SelectionKey key : ready) {
            long since = silent.remove(key);
            SocketChannel ch = (SocketChannel) key.channel();
            ch.configureBlocking(true);
            handshaking.incrementAndGet();
            Socket s = ch.socket();
            Thread t = new Thread(() -> handle(s, since), "riffle-connection " + s.getRemoteSocketAddress());
            t.setDaemon(true);
            t.start();
        }
    }

    private static String peer(SelectionKey key) {
        return String.valueOf(((SocketChannel) key.channel()).socket().getRemoteSocketAddress());
    }

    private static void closeKey(SelectionKey key) {
        key.cancel();
        NetWriter.closeQuietly(((SocketChannel) key.channel()).socket());
    }

    private void settled() {
        handshaking.decrementAndGet();
        selector.wakeup();
    }

    private void handle(Socket raw, long since) {
        Conn conn;
        boolean handshaking = true;
        Socket s = raw;
        try {
            s.setTcpNoDelay(true);
            Keepalive.watch(s, linkSilenceMillis);
            // The TLS handshake counts against the hello timeout.
            s.setSoTimeout((int) Math.max(1, since + helloTimeoutMillis - System.currentTimeMillis()));
            if (tls != null) {
                s = tls.accept(raw);
            }
            Input in = new Input(s.getInputStream(), READ_BUFFER);
            OutputStream out = s.getOutputStream();
            if (!in.readMore()) {
                throw new IOException("closed before saying anything");
            }
            int first = in.buf[0] & 0xff;
            if (first == 0) {
                conn = tcpHandshake(s, in, out);
            } else if (first == 'G') {
                conn = wsHandshake(s, in, out);
            } else {
                throw new IOException(String.format(
                        "garbage first byte 0x%02x (neither a frame nor an HTTP upgrade)", first));
            }
            s.setSoTimeout(0);
            settled();
            handshaking = false;
            conn.serve();
        } catch (SocketTimeoutException e) {
            warn.accept("refused connection from " + s.getRemoteSocketAddress() + ": no hello within "
                    + helloTimeoutMillis + " ms");
        } catch (IOException | RuntimeException e) {
            warn.accept("refused connection from " + s.getRemoteSocketAddress() + ": " + e.getMessage());
        } finally {
            if (handshaking) {
                settled();
                NetWriter.closeQuietly(s);
            }
        }
    }

    /** Refused, with the reason, and whether the peer may hear it (only once it proved it knows the secret). */
    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean tellPeer;

        Refusal(String reason, boolean tellPeer) {
            super(reason, null, false, false);
            this.tellPeer = tellPeer;
        }
    }

    private Inbox admit(Hello hello) throws Refusal {
        if (!MessageDigest.isEqual(secret, hello.secret.getBytes(StandardCharsets.UTF_8))) {
            throw new Refusal("wrong secret in the hello of writer \"" + hello.writer + "\" for channel \""
                    + hello.channel + "\"", false);
        }
        if (hello.version != Hello.VERSION) {
            throw new Refusal("protocol version " + hello.version + " is not supported (this endpoint speaks "
                    + Hello.VERSION + ")", true);
        }
        Inbox inbox = readers.get(hello.channel);
        if (inbox == null) {
            throw new Refusal("no reader for channel " + hello.channel + " on this endpoint", true);
        }
        try {
            inbox.admit(hello.writer);
        } catch (ChannelException e) {
            throw new Refusal(e.getMessage(), true);
        }
        return inbox;
    }

    private Conn tcpHandshake(Socket s, Input in, OutputStream out) throws IOException {
        long len = in.u32();
        int kind = in.u8();
        if (kind != Frames.HELLO) {
            throw new IOException("first frame is not a hello (kind byte " + kind + ", declared length " + len + ")");
        }
        if (len > Hello.MAX_CONTROL) {
            throw new IOException("hello declares " + len + " bytes, above the " + Hello.MAX_CONTROL
                    + "-byte limit for a hello");
        }
        Hello hello = Hello.parse(in.bytes((int) len));
        try {
            Inbox inbox = admit(hello);
            out.write(Frames.frame(Frames.ACCEPT, Hello.acceptJson(maxMessage)));
            out.flush();
            return new TcpConn(s, in, out, inbox, hello.writer);
        } catch (Refusal r) {
            if (r.tellPeer) {
                out.write(Frames.frame(Frames.REFUSE, r.getMessage().getBytes(StandardCharsets.UTF_8)));
                out.flush();
            }
            throw new IOException(r.getMessage());
        }
    }

    private Conn wsHandshake(Socket s, Input in, OutputStream out) throws IOException {
        Ws.serverHandshake(in, out);
        Ws.Frame f = new Ws.Frame();
        Ws.readHeader(in, f);
        if (f.opcode != Ws.TEXT || !f.fin) {
            throw new IOException("first WebSocket message is not a text hello");
        }
        if (f.len > Hello.MAX_CONTROL) {
            throw new IOException("hello of " + f.len + " bytes, above the " + Hello.MAX_CONTROL + "-byte limit");
        }
        Hello hello = Hello.parse(Ws.readPayload(in, f));
        try {
            Inbox inbox = admit(hello);
            out.write(Ws.frame(Ws.TEXT, Hello.acceptJson(maxMessage), false));
            out.flush();
            return new WsConn(s, in, out, inbox, hello.writer);
        } catch (Refusal r) {
            out.write(Ws.frame(Ws.CLOSE, Ws.closePayload(1008, r.tellPeer ? r.getMessage() : "refused"), false));
            out.flush();
            throw new IOException(r.getMessage());
        }
    }

    /** One admitted writer's connection. */
    private abstract class Conn {
        final Socket socket;
        final Input in;
        final OutputStream out;
        final Inbox inbox;
        final String writer;
        final ArrayList<Message> batch = new ArrayList<>();
        long batchBytes;

        Conn(Socket socket, Input in, OutputStream out, Inbox inbox, String writer) {
            this.socket = socket;
            this.in = in;
            this.out = out;
            this.inbox = inbox;
            this.writer = writer;
        }

        abstract void loop() throws IOException, InterruptedException;

        void serve() {
            try {
                loop();
            } catch (ChannelException e) {
                // The reader is gone: dropping the connection tells the writer.
                NetWriter.closeQuietly(socket);
            } catch (InterruptedException e) {
                NetWriter.closeQuietly(socket);
            } catch (IOException e) {
                String reason = Keepalive.timedOut(e) ? Keepalive.reason(socket.getInetAddress().getHostAddress())
                        : e instanceof EOFException ? "end of stream without a close frame"
                        : e instanceof SocketException ? e.getMessage() : e.toString();
                fail(vanished(reason));
            }
        }

        void add(Message m, long len) throws InterruptedException {
            batch.add(m);
            batchBytes += len + Inbox.OVERHEAD;
            if (batchBytes >= BATCH_BYTES || batch.size() >= BATCH_MESSAGES) {
                flush();
            }
        }

        void flush() throws InterruptedException {
            if (!batch.isEmpty()) {
                inbox.putAll(batch, batchBytes);
                batch.clear();
                batchBytes = 0;
            }
        }

        /** Acknowledged close: the writer may go; the last messages are handed over afterwards. */
        void closed(byte[] ack) throws InterruptedException {
            try {
                out.write(ack);
                out.flush();
            } catch (IOException e) {
                // The writer left without waiting for the acknowledgement; everything was read anyway.
            }
            NetWriter.closeQuietly(socket);
            flush();
            inbox.end(null);
        }

        /** Delivers what arrived intact, then the error. */
        void fail(ChannelException error) {
            NetWriter.closeQuietly(socket);
            try {
                flush();
                inbox.end(error);
            } catch (InterruptedException | ChannelException e) {
                // The reader is gone or the runner stops; nobody is left to tell.
            }
        }

        ChannelException vanished(String reason) {
            return new ChannelException("channel " + inbox.channel() + ": writer " + writer
                    + " vanished without closing (" + reason + ")");
        }

        ChannelException protocol(String reason) {
            return new ChannelException("channel " + inbox.channel() + ": protocol error from writer " + writer + ": "
                    + reason);
        }

        ChannelException tooLarge(long declared) {
            return new ChannelException("channel " + inbox.channel() + ": writer " + writer
                    + " declared a message of " + declared + " bytes, above the limit of " + maxMessage
                    + " bytes; connection closed");
        }
    }

    private final class TcpConn extends Conn {
        TcpConn(Socket socket, Input in, OutputStream out, Inbox inbox, String writer) {
            super(socket, in, out, inbox, writer);
        }

        private void refuse(ChannelException error, String told) {
            warn.accept("closing connection: " + error.getMessage());
            try {
                out.write(Frames.frame(Frames.REFUSE, told.getBytes(StandardCharsets.UTF_8)));
                out.flush();
            } catch (IOException e) {
                // The writer is gone already.
            }
            fail(error);
        }

        @Override
        void loop() throws IOException, InterruptedException {
            byte[] buf = in.buf;
            while (true) {
                while (in.lim - in.pos >= 5) {
                    int p = in.pos;
                    long len = ((buf[p] & 0xffL) << 24) | ((buf[p + 1] & 0xffL) << 16) | ((buf[p + 2] & 0xffL) << 8)
                            | (buf[p + 3] & 0xffL);
                    int kind = buf[p + 4];
                    if (kind == Frames.TEXT || kind == Frames.BYTES) {
                        if (len > maxMessage) {
                            refuse(tooLarge(len), "message of " + len + " bytes above the limit of " + maxMessage
                                    + " bytes");
                            return;
                        }
                        int n = (int) len;
                        byte[] payload;
                        if (in.lim - p - 5 >= n) {
                            payload = new byte[n];
                            System.arraycopy(buf, p + 5, payload, 0, n);
                            in.pos = p + 5 + n;
                        } else if (n + 5 > buf.length) {
                            // Larger than the buffer: read it straight into its own array.
                            flush();
                            in.pos = p + 5;
                            payload = new byte[n];
                            in.readFully(payload, 0, n);
                        } else {
                            break;
                        }
                        if (kind == Frames.TEXT) {
                            String bad = Utf8.check(payload, 0, n);
                            if (bad != null) {
                                refuse(protocol("text frame is not UTF-8: " + bad), "text frame is not UTF-8");
                                return;
                            }
                            add(Message.utf8(payload), n);
                        } else {
                            add(Message.bytes(payload), n);
                        }
                    } else if (kind == Frames.CLOSE && len == 0) {
                        in.pos = p + 5;
                        closed(Frames.frame(Frames.CLOSE, new byte[0]));
                        return;
                    } else {
                        refuse(protocol("unexpected frame (kind byte " + kind + ", length " + len + ")"),
                                "unexpected frame kind " + kind);
                        return;
                    }
                }
                // The socket may have nothing more for now: hand the batch over before blocking on it.
                flush();
                if (!in.readMore()) {
                    throw new EOFException();
                }
            }
        }
    }

    private final class WsConn extends Conn {
        private final Ws.Frame f = new Ws.Frame();
        /** A fragmented message being put together. */
        private byte[] partial;
        private int partialLen;
        private int partialOpcode;

        WsConn(Socket socket, Input in, OutputStream out, Inbox inbox, String writer) {
            super(socket, in, out, inbox, writer);
        }

        private void policyClose(ChannelException error) {
            warn.accept("closing connection: " + error.getMessage());
            try {
                out.write(Ws.frame(Ws.CLOSE, Ws.closePayload(1008, error.getMessage()), false));
                out.flush();
            } catch (IOException e) {
                // The writer is gone already.
            }
            fail(error);
        }

        @Override
        void loop() throws IOException, InterruptedException {
            while (true) {
                if (!Ws.frameBuffered(in)) {
                    // The socket may have nothing more for now: hand the batch over before blocking on it.
                    flush();
                }
                Ws.readHeader(in, f);
                if (!f.masked) {
                    policyClose(protocol("unmasked frame from a client"));
                    return;
                }
                int op = f.opcode;
                if (op >= 8) {
                    if (f.len > 125 || !f.fin) {
                        policyClose(protocol("control frame longer than 125 bytes or fragmented"));
                        return;
                    }
                    byte[] payload = Ws.readPayload(in, f);
                    if (op == Ws.CLOSE) {
                        closed(Ws.frame(Ws.CLOSE, Ws.closePayload(1000, ""), false));
                        return;
                    } else if (op == Ws.PING) {
                        out.write(Ws.frame(Ws.PONG, payload, false));
                        out.flush();
                    } else if (op != Ws.PONG) {
                        policyClose(protocol("unknown control opcode " + op));
                        return;
                    }
                    continue;
                }
                long total = (partial == null ? 0 : partialLen) + f.len;
                if (f.len > maxMessage || total > maxMessage) {
                    policyClose(tooLarge(total));
                    return;
                }
                if (op == Ws.CONTINUATION) {
                    if (partial == null) {
                        policyClose(protocol("continuation frame without a message to continue"));
                        return;
                    }
                } else if (op == Ws.TEXT || op == Ws.BINARY) {
                    if (partial != null) {
                        policyClose(protocol("new message before the previous one ended"));
                        return;
                    }
                } else {
                    policyClose(protocol("unknown opcode " + op));
                    return;
                }
                int n = (int) f.len;
                byte[] payload;
                if (op != Ws.CONTINUATION && f.fin) {
                    if (n + 14 > in.buf.length) {
                        flush();
                    }
                    payload = in.bytes(n);
                    Ws.mask(payload, 0, n, f.maskKey, 0);
                    deliver(op, payload);
                    continue;
                }
                if (partial == null) {
                    partial = new byte[Math.max(n, 1024)];
                    partialLen = 0;
                    partialOpcode = op;
                }
                if (partialLen + n > partial.length) {
                    partial = java.util.Arrays.copyOf(partial, (int) Math.min(maxMessage,
                            Math.max((long) partialLen + n, 2L * partial.length)));
                }
                in.readFully(partial, partialLen, n);
                Ws.mask(partial, partialLen, n, f.maskKey, 0);
                partialLen += n;
                if (f.fin) {
                    byte[] whole = partialLen == partial.length ? partial : java.util.Arrays.copyOf(partial, partialLen);
                    partial = null;
                    deliver(partialOpcode, whole);
                }
            }
        }

        private void deliver(int op, byte[] payload) throws InterruptedException {
            if (op == Ws.TEXT) {
                String bad = Utf8.check(payload, 0, payload.length);
                if (bad != null) {
                    policyClose(protocol("text message is not UTF-8: " + bad));
                    throw new InterruptedException("closed");
                }
                add(Message.utf8(payload), payload.length);
            } else {
                add(Message.bytes(payload), payload.length);
            }
        }
    }
}
