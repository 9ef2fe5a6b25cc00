package dev.riffle.channels;

/** TCP framing (FRAMING.md): u32 big-endian payload length, one kind byte, the payload. */
final class Frames {
    static final int HELLO = 1;
    static final int ACCEPT = 2;
    static final int REFUSE = 3;
    static final int TEXT = 4;
    static final int BYTES = 5;
    static final int CLOSE = 6;

    private Frames() {}

    static byte[] frame(int kind, byte[] payload) {
        byte[] out = new byte[5 + payload.length];
        int len = payload.length;
        out[0] = (byte) (len >>> 24);
        out[1] = (byte) (len >>> 16);
        out[2] = (byte) (len >>> 8);
        out[3] = (byte) len;
        out[4] = (byte) kind;
        System.arraycopy(payload, 0, out, 5, len);
        return out;
    }
}
