package dev.riffle.channels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Writer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Channel semantics (DESIGN section 3) for memory, TCP and WebSocket: the same cases for each transport. */
class ConformanceTest {
    static final String SECRET = "s3cret";
    static final List<String> WARNINGS = new ArrayList<>();

    static Endpoint endpoint() throws Exception {
        return Endpoint.bind("127.0.0.1", 0, Links.plain(SECRET), w -> {
            synchronized (WARNINGS) {
                WARNINGS.add(w);
            }
        });
    }

    /** A reader expecting {@code writers} writers and that many writers, over {@code transport}. */
    static Inbox reader(Endpoint ep, String transport, String channel, int writers) {
        return transport.equals("memory") ? new Inbox(channel, writers) : ep.register(channel, writers);
    }

    static Writer writer(Endpoint ep, Inbox inbox, String transport, String id) {
        switch (transport) {
            case "memory":
                return inbox.memoryWriter(id);
            case "tcp":
                return NetWriter.connect(Transport.TCP, ep.localAddress(), Links.plain(SECRET), inbox.channel(), id, 10_000);
            default:
                return NetWriter.connect(Transport.WEBSOCKET, ep.localAddress(), Links.plain(SECRET), inbox.channel(), id, 10_000);
        }
    }

    static byte[] numbered(long i) {
        return ByteBuffer.allocate(8).putLong(i).array();
    }

    static Thread send(Writer w, long n, AtomicLong sent) {
        Thread t = new Thread(() -> {
            for (long i = 0; i < n; i++) {
                w.send(numbered(i));
                if (sent != null) {
                    sent.incrementAndGet();
                }
            }
            w.close();
        });
        t.start();
        return t;
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void a_million_messages_arrive_in_order_then_the_end(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:million", 1);
            Thread t = send(writer(ep, inbox, transport, "w1"), 1_000_000, null);
            long expected = 0;
            Message m;
            while ((m = inbox.receive()) != null) {
                assertEquals(expected, ByteBuffer.wrap(m.asBytes()).getLong());
                expected++;
            }
            assertEquals(1_000_000, expected);
            assertEquals(1_000_000, inbox.messagesRead());
            assertEquals(8_000_000, inbox.bytesRead());
            t.join();
            assertNull(inbox.receive(), "the end stays the end");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void text_stays_text_and_bytes_stay_bytes(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:kinds", 1);
            Writer w = writer(ep, inbox, transport, "w1");
            w.send("héllo ☃");
            w.send(new byte[] {(byte) 0xff, 0});
            w.send("");
            w.close();
            Message a = inbox.receive();
            Message b = inbox.receive();
            Message c = inbox.receive();
            assertTrue(a.isText());
            assertEquals("héllo ☃", a.asString());
            assertTrue(!b.isText());
            assertEquals(2, b.asBytes().length);
            assertEquals("", c.asString());
            assertNull(inbox.receive());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void fan_in_keeps_each_writers_order(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:fan-in", 3);
            List<Thread> threads = new ArrayList<>();
            List<Writer> writers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                writers.add(writer(ep, inbox, transport, "w" + w));
            }
            for (int w = 0; w < 3; w++) {
                final int id = w;
                Writer writer = writers.get(w);
                Thread t = new Thread(() -> {
                    for (long i = 0; i < 100_000; i++) {
                        writer.send(ByteBuffer.allocate(16).putLong(id).putLong(i).array());
                    }
                    writer.close();
                });
                t.start();
                threads.add(t);
            }
            long[] next = new long[3];
            Message m;
            while ((m = inbox.receive()) != null) {
                ByteBuffer b = ByteBuffer.wrap(m.asBytes());
                int id = (int) b.getLong();
                assertEquals(next[id], b.getLong());
                next[id]++;
            }
            assertEquals(List.of(100_000L, 100_000L, 100_000L), List.of(next[0], next[1], next[2]));
            for (Thread t : threads) {
                t.join();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void fan_out_gives_every_reader_everything(String transport) throws Exception {
        try (Endpoint ep1 = endpoint(); Endpoint ep2 = endpoint()) {
            Inbox a = reader(ep1, transport, "urn:c:fan-out", 1);
            Inbox b = transport.equals("memory") ? new Inbox("urn:c:fan-out", 1) : ep2.register("urn:c:fan-out", 1);
            Writer wa = writer(ep1, a, transport, "w");
            Writer wb = writer(ep2, b, transport, "w");
            Thread t = new Thread(() -> {
                for (long i = 0; i < 200_000; i++) {
                    Message m = Message.bytes(numbered(i));
                    wa.send(m);
                    wb.send(m);
                }
                wa.close();
                wb.close();
            });
            t.start();
            long[] got = new long[2];
            Thread other = new Thread(() -> {
                try {
                    while (b.receive() != null) {
                        got[1]++;
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            other.start();
            while (a.receive() != null) {
                got[0]++;
            }
            other.join();
            t.join();
            assertEquals(200_000, got[0]);
            assertEquals(200_000, got[1]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void a_256_mib_message_passes_whole(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:big", 1);
            Writer w = writer(ep, inbox, transport, "w1");
            byte[] big = new byte[256 << 20];
            big[0] = 1;
            big[big.length / 2] = 2;
            big[big.length - 1] = 3;
            Thread t = new Thread(() -> {
                w.send(big);
                w.close();
            });
            t.start();
            Message m = inbox.receive();
            byte[] got = m.asBytes();
            assertEquals(256 << 20, got.length);
            assertEquals(1, got[0]);
            assertEquals(2, got[got.length / 2]);
            assertEquals(3, got[got.length - 1]);
            got = null;
            m = null;
            assertNull(inbox.receive());
            t.join();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "tcp", "websocket"})
    void a_slow_reader_holds_the_writer_back(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:slow", 1);
            Writer w = writer(ep, inbox, transport, "w1");
            AtomicLong sent = new AtomicLong();
            byte[] payload = new byte[64 * 1024];
            long total = 3200; // 200 MiB
            Thread t = new Thread(() -> {
                for (long i = 0; i < total; i++) {
                    w.send(payload);
                    sent.incrementAndGet();
                }
                w.close();
            });
            t.start();
            // Nobody reads: the writer must end up waiting with a bounded amount sent.
            while (t.getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            long held = sent.get() * payload.length;
            assertTrue(held < (64L << 20), "the writer got " + held + " bytes ahead of a reader that does not read");
            long n = 0;
            while (inbox.receive() != null) {
                n++;
            }
            assertEquals(total, n);
            t.join();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websocket"})
    void a_vanished_writer_is_an_error_after_its_messages(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:vanish", 1);
            NetWriter w = (NetWriter) writer(ep, inbox, transport, "w1");
            for (int i = 0; i < 10; i++) {
                w.send(numbered(i));
            }
            // Nothing is acknowledged per message, so wait for the last one before dropping the connection.
            for (int i = 0; i < 10; i++) {
                assertEquals(i, ByteBuffer.wrap(inbox.receive().asBytes()).getLong());
            }
            w.abort();
            ChannelException e = assertThrows(ChannelException.class, inbox::receive);
            assertTrue(e.getMessage().startsWith("channel urn:c:vanish: writer w1 vanished without closing ("),
                    e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websocket"})
    void a_vanished_reader_is_an_error_for_the_writer(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            Inbox inbox = reader(ep, transport, "urn:c:gone", 1);
            Writer w = writer(ep, inbox, transport, "w1");
            inbox.abandon();
            ChannelException e = assertThrows(ChannelException.class, () -> {
                byte[] payload = new byte[1024];
                for (int i = 0; i < 10_000_000; i++) {
                    w.send(payload);
                }
                w.close();
            });
            assertTrue(e.getMessage().startsWith("channel urn:c:gone: the reader vanished ("), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websocket"})
    void a_wrong_secret_is_refused_without_a_reason(String transport) throws Exception {
        try (Endpoint ep = endpoint()) {
            ep.register("urn:c:secret", 1);
            InetSocketAddress addr = ep.localAddress();
            Transport t = transport.equals("tcp") ? Transport.TCP : Transport.WEBSOCKET;
            ChannelException e = assertThrows(ChannelException.class,
                    () -> NetWriter.connect(t, addr, Links.plain("wrong"), "urn:c:secret", "w1", 10_000));
            String expected = transport.equals("tcp")
                    ? "channel urn:c:secret: the reader endpoint refused writer w1: the endpoint closed the connection "
                            + "without an answer (end of stream)"
                    : "channel urn:c:secret: the reader endpoint refused writer w1: refused";
            assertEquals(expected, e.getMessage());
        }
    }

    @Test
    void an_unknown_channel_and_an_extra_writer_are_refused_with_the_reason() throws Exception {
        try (Endpoint ep = endpoint()) {
            ep.register("urn:c:one", 1);
            InetSocketAddress addr = ep.localAddress();
            ChannelException e = assertThrows(ChannelException.class,
                    () -> NetWriter.connect(Transport.TCP, addr, Links.plain(SECRET), "urn:c:nope", "w1", 10_000));
            assertEquals("channel urn:c:nope: the reader endpoint refused writer w1: no reader for channel urn:c:nope "
                    + "on this endpoint", e.getMessage());
            NetWriter first = NetWriter.connect(Transport.TCP, addr, Links.plain(SECRET), "urn:c:one", "w1", 10_000);
            e = assertThrows(ChannelException.class,
                    () -> NetWriter.connect(Transport.TCP, addr, Links.plain(SECRET), "urn:c:one", "w2", 10_000));
            assertEquals("channel urn:c:one: the reader endpoint refused writer w2: channel urn:c:one: all 1 expected "
                    + "writers are already connected", e.getMessage());
            first.abort();
        }
    }
}
