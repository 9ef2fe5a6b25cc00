package dev.riffle.channels;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The parts of RFC 6455 Riffle needs: the opening handshake on both sides, frame headers, masking, and
 * reading one frame. Extensions and subprotocols are never negotiated.
 */
public final class Ws {
    public static final int CONTINUATION = 0;
    public static final int TEXT = 1;
    public static final int BINARY = 2;
    public static final int CLOSE = 8;
    public static final int PING = 9;
    public static final int PONG = 10;
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int MAX_HTTP_HEAD = 16384;

    private Ws() {}

    /** Sec-WebSocket-Accept for a key. */
    static String acceptKey(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            return Base64.getEncoder().encodeToString(sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JVM", e);
        }
    }

    /** Reads an HTTP head up to the blank line; returns the first line and lower-cased header names. */
    static Map<String, String> readHead(Input in) throws IOException {
        int scanned = 0;
        while (true) {
            for (int i = in.pos + Math.max(0, scanned - 3); i + 3 < in.lim; i++) {
                if (in.buf[i] == '\r' && in.buf[i + 1] == '\n' && in.buf[i + 2] == '\r' && in.buf[i + 3] == '\n') {
                    String head = new String(in.buf, in.pos, i - in.pos, StandardCharsets.ISO_8859_1);
                    in.pos = i + 4;
                    Map<String, String> headers = new HashMap<>();
                    String[] lines = head.split("\r\n");
                    headers.put(":line", lines[0]);
                    for (int l = 1; l < lines.length; l++) {
                        int colon = lines[l].indexOf(':');
                        if (colon > 0) {
                            headers.put(lines[l].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                                    lines[l].substring(colon + 1).trim());
                        }
                    }
                    return headers;
                }
            }
            scanned = in.lim - in.pos;
            if (scanned >= MAX_HTTP_HEAD) {
                throw new IOException("HTTP head longer than " + MAX_HTTP_HEAD + " bytes");
            }
            if (!in.readMore()) {
                throw new IOException("end of stream in the HTTP head");
            }
        }
    }

    /** The server half of the opening handshake; the error says why an upgrade was refused. */
    static void serverHandshake(Input in, OutputStream out) throws IOException {
        Map<String, String> h = readHead(in);
        String line = h.get(":line");
        String key = h.get("sec-websocket-key");
        String upgrade = h.getOrDefault("upgrade", "");
        if (!line.startsWith("GET ") || key == null || !upgrade.equalsIgnoreCase("websocket")) {
            out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            throw new IOException("not a WebSocket upgrade: " + line);
        }
        out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** The client half of the opening handshake. */
    public static void clientHandshake(Input in, OutputStream out, String hostPort, String path) throws IOException {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        String key = Base64.getEncoder().encodeToString(nonce);
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + hostPort + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Map<String, String> h = readHead(in);
        String line = h.get(":line");
        if (!line.startsWith("HTTP/1.1 101")) {
            throw new IOException("WebSocket upgrade refused: " + line);
        }
        if (!acceptKey(key).equals(h.get("sec-websocket-accept"))) {
            throw new IOException("WebSocket upgrade answered with a wrong Sec-WebSocket-Accept");
        }
    }

    /** Writes a frame header into {@code out} at {@code at}; returns its length (at most 14). */
    static int header(byte[] out, int at, int opcode, long len, boolean fin, int maskKey, boolean masked) {
        int p = at;
        out[p++] = (byte) ((fin ? 0x80 : 0) | opcode);
        int maskBit = masked ? 0x80 : 0;
        if (len < 126) {
            out[p++] = (byte) (maskBit | len);
        } else if (len < 65536) {
            out[p++] = (byte) (maskBit | 126);
            out[p++] = (byte) (len >>> 8);
            out[p++] = (byte) len;
        } else {
            out[p++] = (byte) (maskBit | 127);
            for (int s = 56; s >= 0; s -= 8) {
                out[p++] = (byte) (len >>> s);
            }
        }
        if (masked) {
            out[p++] = (byte) (maskKey >>> 24);
            out[p++] = (byte) (maskKey >>> 16);
            out[p++] = (byte) (maskKey >>> 8);
            out[p++] = (byte) maskKey;
        }
        return p - at;
    }

    /** XORs {@code b[off..off+len)} with the mask, starting at byte {@code index} of the payload. */
    static void mask(byte[] b, int off, int len, int maskKey, long index) {
        for (int i = 0; i < len; i++) {
            int shift = 24 - 8 * (int) ((index + i) & 3);
            b[off + i] ^= (byte) (maskKey >>> shift);
        }
    }

    /** A whole unfragmented frame, for control messages. */
    public static byte[] frame(int opcode, byte[] payload, boolean masked) {
        int maskKey = masked ? ThreadLocalRandom.current().nextInt() : 0;
        byte[] out = new byte[14 + payload.length];
        int h = header(out, 0, opcode, payload.length, true, maskKey, masked);
        System.arraycopy(payload, 0, out, h, payload.length);
        if (masked) {
            mask(out, h, payload.length, maskKey, 0);
        }
        byte[] exact = new byte[h + payload.length];
        System.arraycopy(out, 0, exact, 0, exact.length);
        return exact;
    }

    /** A close frame's payload: status code and a reason cut to RFC 6455's 123 bytes on a character boundary. */
    static byte[] closePayload(int code, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(r.length, 123);
        while (len > 0 && len < r.length && (r[len] & 0xc0) == 0x80) {
            len--;
        }
        byte[] out = new byte[2 + len];
        out[0] = (byte) (code >>> 8);
        out[1] = (byte) code;
        System.arraycopy(r, 0, out, 2, len);
        return out;
    }

    /** One frame's header as read. */
    static final class Frame {
        boolean fin;
        int opcode;
        long len;
        boolean masked;
        int maskKey;
    }

    /** Reads a frame header. */
    static void readHeader(Input in, Frame f) throws IOException {
        int b0 = in.u8();
        int b1 = in.u8();
        f.fin = (b0 & 0x80) != 0;
        if ((b0 & 0x70) != 0) {
            throw new IOException("reserved bits set in a frame (no extension was negotiated)");
        }
        f.opcode = b0 & 0x0f;
        f.masked = (b1 & 0x80) != 0;
        long len = b1 & 0x7f;
        if (len == 126) {
            len = ((long) in.u8() << 8) | in.u8();
        } else if (len == 127) {
            len = (in.u32() << 32) | in.u32();
            if (len < 0) {
                throw new IOException("frame length above 2^63");
            }
        }
        f.len = len;
        if (f.masked) {
            f.maskKey = (int) in.u32();
        }
    }

    /** Whether a whole frame (header and payload) is buffered, so reading it will not block. */
    static boolean frameBuffered(Input in) {
        int have = in.lim - in.pos;
        if (have < 2) {
            return false;
        }
        int b1 = in.buf[in.pos + 1] & 0xff;
        int head = 2 + ((b1 & 0x80) != 0 ? 4 : 0);
        long len = b1 & 0x7f;
        if (len == 126) {
            if (have < 4) {
                return false;
            }
            head += 2;
            len = ((in.buf[in.pos + 2] & 0xffL) << 8) | (in.buf[in.pos + 3] & 0xffL);
        } else if (len == 127) {
            if (have < 10) {
                return false;
            }
            head += 8;
            len = 0;
            for (int i = 2; i < 10; i++) {
                len = (len << 8) | (in.buf[in.pos + i] & 0xffL);
            }
        }
        return len >= 0 && have >= head + len;
    }

    /** Reads the payload of a frame whose header was just read (small: control frames). */
    static byte[] readPayload(Input in, Frame f) throws IOException {
        byte[] p = in.bytes((int) f.len);
        if (f.masked) {
            mask(p, 0, p.length, f.maskKey, 0);
        }
        return p;
    }
}
