package dev.riffle.channels;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** A socket's input read in large chunks, with what has been read but not yet consumed. */
final class Input {
    final InputStream in;
    final byte[] buf;
    int pos;
    int lim;

    Input(InputStream in, int size) {
        this.in = in;
        this.buf = new byte[size];
    }

    int buffered() {
        return lim - pos;
    }

    /** Reads once more (moving what is left to the front first); false at the end of the stream. */
    boolean readMore() throws IOException {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        if (lim == buf.length) {
            throw new IllegalStateException("input buffer full");
        }
        int n = in.read(buf, lim, buf.length - lim);
        if (n < 0) {
            return false;
        }
        lim += n;
        return true;
    }

    /** Ensures {@code n} bytes are buffered ({@code n} at most the buffer size). */
    void need(int n) throws IOException {
        while (lim - pos < n) {
            if (!readMore()) {
                throw new EOFException("end of stream");
            }
        }
    }

    int u8() throws IOException {
        need(1);
        return buf[pos++] & 0xff;
    }

    long u32() throws IOException {
        need(4);
        long v = ((buf[pos] & 0xffL) << 24) | ((buf[pos + 1] & 0xffL) << 16) | ((buf[pos + 2] & 0xffL) << 8)
                | (buf[pos + 3] & 0xffL);
        pos += 4;
        return v;
    }

    /** Reads exactly {@code len} bytes into {@code dst}: what is buffered, then straight from the stream. */
    void readFully(byte[] dst, int off, int len) throws IOException {
        int have = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, dst, off, have);
        pos += have;
        off += have;
        len -= have;
        while (len > 0) {
            int n = in.read(dst, off, len);
            if (n < 0) {
                throw new EOFException("end of stream");
            }
            off += n;
            len -= n;
        }
    }

    byte[] bytes(int len) throws IOException {
        byte[] out = new byte[len];
        readFully(out, 0, len);
        return out;
    }
}
