package dev.riffle.processor;

import java.nio.charset.StandardCharsets;

/**
 * One channel message: text (UTF-8) or bytes. Immutable; passed by reference between processors of one JVM.
 *
 * <p>Text that arrived from the network is kept as its UTF-8 bytes (already validated) and decoded only when a
 * processor asks for it as a {@code String}, so forwarding it costs no decode and re-encode.
 */
public final class Message {
    private final boolean text;
    private String string;
    private byte[] bytes;

    private Message(boolean text, String string, byte[] bytes) {
        this.text = text;
        this.string = string;
        this.bytes = bytes;
    }

    /** A text message. */
    public static Message text(String text) {
        if (text == null) {
            throw new NullPointerException("a text message cannot be null");
        }
        return new Message(true, text, null);
    }

    /** A bytes message; the array is not copied, so it must not change afterwards. */
    public static Message bytes(byte[] bytes) {
        if (bytes == null) {
            throw new NullPointerException("a bytes message cannot be null");
        }
        return new Message(false, null, bytes);
    }

    /** A text message from UTF-8 bytes the caller has validated. Not copied. */
    public static Message utf8(byte[] validUtf8) {
        return new Message(true, null, validUtf8);
    }

    /** Whether this is a text message. */
    public boolean isText() {
        return text;
    }

    /** The message as text: a bytes message is decoded as UTF-8 (malformed input replaced). */
    public String asString() {
        String s = string;
        if (s == null) {
            s = new String(bytes, StandardCharsets.UTF_8);
            string = s;
        }
        return s;
    }

    /** The message as bytes: a text message is encoded as UTF-8. The array must not be changed. */
    public byte[] asBytes() {
        byte[] b = bytes;
        if (b == null) {
            b = string.getBytes(StandardCharsets.UTF_8);
            bytes = b;
        }
        return b;
    }

    /** Length in bytes (of the UTF-8 encoding, for text). */
    public long length() {
        byte[] b = bytes;
        if (b != null) {
            return b.length;
        }
        return utf8Length(string);
    }

    static long utf8Length(String s) {
        long n = 0;
        int len = s.length();
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return text ? "text message of " + length() + " bytes" : "bytes message of " + length() + " bytes";
    }
}
