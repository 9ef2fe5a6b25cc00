package dev.riffle.channels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.riffle.processor.ChannelException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A writer that breaks the wire format, played by hand over a raw socket: the data endpoint refuses a message
 * declared above its limit from the frame header alone (the payload is never sent) and a text message that is
 * not UTF-8, tells the writer, and gives the reader the error after what arrived intact.
 */
class RefusalTest {
    static final String SECRET = "s3cret";
    /** The endpoint's limit (FRAMING.md: 2 GiB - 1, the largest Java array and u32 length both hold). */
    static final long LIMIT = Integer.MAX_VALUE;

    /** A raw writer connection: the socket and what it reads. */
    static final class Raw implements AutoCloseable {
        final Socket socket;
        final Input in;
        final OutputStream out;
        final boolean ws;

        Raw(Endpoint ep, String transport, String channel) throws Exception {
            ws = transport.equals("websocket");
            socket = new Socket(ep.localAddress().getAddress(), ep.localAddress().getPort());
            in = new Input(socket.getInputStream(), 64 * 1024);
            out = socket.getOutputStream();
            byte[] hello = new Hello(Hello.VERSION, SECRET, channel, "w1").toJson();
            byte[] accept;
            if (ws) {
                Ws.clientHandshake(in, out, "127.0.0.1:" + ep.localAddress().getPort(), "/");
                out.write(Ws.frame(Ws.TEXT, hello, true));
                out.flush();
                Ws.Frame f = new Ws.Frame();
                Ws.readHeader(in, f);
                assertEquals(Ws.TEXT, f.opcode);
                accept = Ws.readPayload(in, f);
            } else {
                out.write(Frames.frame(Frames.HELLO, hello));
                out.flush();
                int len = (int) in.u32();
                assertEquals(Frames.ACCEPT, in.u8());
                accept = in.bytes(len);
            }
            assertEquals(LIMIT, Hello.parseAccept(accept));
        }

        /** A whole text message as this transport frames it. */
        void text(byte[] payload) throws Exception {
            out.write(ws ? Ws.frame(Ws.TEXT, payload, true) : Frames.frame(Frames.TEXT, payload));
            out.flush();
        }

        /** Only the header of a bytes message of {@code len} bytes. */
        void bytesHeader(long len) throws Exception {
            byte[] h = new byte[14];
            int n;
            if (ws) {
                n = Ws.header(h, 0, Ws.BINARY, len, true, 0x01020304, true);
            } else {
                h[0] = (byte) (len >>> 24);
                h[1] = (byte) (len >>> 16);
                h[2] = (byte) (len >>> 8);
                h[3] = (byte) len;
                h[4] = Frames.BYTES;
                n = 5;
            }
            out.write(h, 0, n);
            out.flush();
        }

        /**
         * What the endpoint told this writer before closing: a refuse frame's text, or a close's code and reason
         * (which RFC 6455 cuts to 123 bytes).
         */
        String answer() throws Exception {
            if (ws) {
                Ws.Frame f = new Ws.Frame();
                Ws.readHeader(in, f);
                assertEquals(Ws.CLOSE, f.opcode);
                byte[] p = Ws.readPayload(in, f);
                int code = ((p[0] & 0xff) << 8) | (p[1] & 0xff);
                return code + " " + new String(p, 2, p.length - 2, StandardCharsets.UTF_8);
            }
            int len = (int) in.u32();
            assertEquals(Frames.REFUSE, in.u8());
            return new String(in.bytes(len), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websocket"})
    void a_message_declared_above_the_limit_is_refused_from_its_header(String transport) throws Exception {
        try (Endpoint ep = ConformanceTest.endpoint()) {
            Inbox inbox = ep.register("urn:c:oversize", 1);
            try (Raw w = new Raw(ep, transport, "urn:c:oversize")) {
                w.text("before".getBytes(StandardCharsets.UTF_8));
                long declared = LIMIT + 1;
                w.bytesHeader(declared);
                String error = "channel urn:c:oversize: writer w1 declared a message of 2147483648 bytes, above the "
                        + "limit of 2147483647 bytes; connection closed";
                assertEquals(transport.equals("tcp") ? "message of 2147483648 bytes above the limit of 2147483647 bytes"
                        : "1008 " + error.substring(0, 123), w.answer());
                assertEquals("before", inbox.receive().asString());
                ChannelException e = assertThrows(ChannelException.class, inbox::receive);
                assertEquals(error, e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websocket"})
    void a_text_message_that_is_not_utf8_is_refused(String transport) throws Exception {
        try (Endpoint ep = ConformanceTest.endpoint()) {
            Inbox inbox = ep.register("urn:c:utf8", 1);
            try (Raw w = new Raw(ep, transport, "urn:c:utf8")) {
                w.text("caf\u00e9".getBytes(StandardCharsets.UTF_8));
                // 0xC3 starts a two-byte sequence; '(' cannot continue it.
                w.text(new byte[] {'c', 'a', 'f', (byte) 0xc3, '('});
                String error = "channel urn:c:utf8: protocol error from writer w1: text "
                        + (transport.equals("tcp") ? "frame" : "message") + " is not UTF-8: invalid UTF-8 "
                        + "(java.nio.charset.MalformedInputException: Input length = 1)";
                assertEquals(transport.equals("tcp") ? "text frame is not UTF-8" : "1008 " + error.substring(0, 123),
                        w.answer());
                assertEquals("caf\u00e9", inbox.receive().asString());
                ChannelException e = assertThrows(ChannelException.class, inbox::receive);
                assertEquals(error, e.getMessage());
            }
        }
    }
}
