package dev.riffle.channels;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Encoded frames waiting for a network writer's socket thread. The sending processor copies frames into
 * 256 KiB chunks; the socket thread takes every chunk queued (the partly filled one too) whenever it is free,
 * so while it writes one batch the processor fills the next: never one write per message, and nothing waits
 * for a chunk to fill up.
 *
 * <p>Bounded: the sender waits once {@code limit} bytes are queued, even in the middle of a large message, so
 * a 256 MiB message goes out through a few MiB of buffer.
 */
final class Outbox {
    static final int CHUNK = 256 * 1024;

    static final class Chunk {
        final byte[] data;
        int len;

        Chunk(byte[] data) {
            this.data = data;
        }
    }

    private final long limit;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition room = lock.newCondition();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Chunk> full = new ArrayDeque<>();
    private final ArrayDeque<Chunk> free = new ArrayDeque<>();
    private Chunk current = new Chunk(new byte[CHUNK]);
    private long queued;
    private boolean closing;
    private boolean socketWaiting;
    private String failure;

    Outbox(long limit) {
        this.limit = limit;
    }

    /** Locks for one whole frame (header and payload stay together). */
    void begin() throws InterruptedException {
        lock.lockInterruptibly();
        if (failure != null) {
            String f = failure;
            lock.unlock();
            throw new Failed(f);
        }
    }

    /** Ends a frame: wakes the socket thread if it waits. */
    void end() {
        try {
            if (socketWaiting) {
                work.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Room in the current chunk, after waiting for the queue to drain below its limit. */
    private int space() throws InterruptedException {
        while (queued >= limit && failure == null) {
            if (socketWaiting) {
                work.signal();
            }
            room.await();
        }
        if (failure != null) {
            throw new Failed(failure);
        }
        if (current.len == current.data.length) {
            full.add(current);
            Chunk next = free.poll();
            if (next == null) {
                next = new Chunk(new byte[CHUNK]);
            }
            current = next;
        }
        return current.data.length - current.len;
    }

    /** Appends bytes (between begin and end). Returns where the last piece went, for masking. */
    void append(byte[] src, int off, int len) throws InterruptedException {
        while (len > 0) {
            int n = Math.min(space(), len);
            System.arraycopy(src, off, current.data, current.len, n);
            current.len += n;
            queued += n;
            off += n;
            len -= n;
        }
    }

    /** Appends bytes masked with a WebSocket key (between begin and end). */
    void appendMasked(byte[] src, int off, int len, int maskKey) throws InterruptedException {
        long index = 0;
        while (len > 0) {
            int n = Math.min(space(), len);
            System.arraycopy(src, off, current.data, current.len, n);
            Ws.mask(current.data, current.len, n, maskKey, index);
            current.len += n;
            queued += n;
            off += n;
            len -= n;
            index += n;
        }
    }

    /** After the last frame: the socket thread sends the close once everything queued is written. */
    void close() {
        lock.lock();
        try {
            closing = true;
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the connection failed (then no close frame may be sent). */
    boolean isFailed() {
        lock.lock();
        try {
            return failure != null;
        } finally {
            lock.unlock();
        }
    }

    /** The connection failed: senders get this reason from now on. */
    void fail(String reason) {
        lock.lock();
        try {
            if (failure == null) {
                failure = reason;
            }
            room.signalAll();
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * For the socket thread: waits for work and moves every queued chunk into {@code out}. Returns false when
     * there is nothing left and the writer is closing (or failed).
     */
    boolean take(List<Chunk> out) throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (full.isEmpty() && current.len == 0) {
                if (closing || failure != null) {
                    return false;
                }
                socketWaiting = true;
                try {
                    work.await();
                } finally {
                    socketWaiting = false;
                }
            }
            out.addAll(full);
            full.clear();
            if (current.len > 0) {
                out.add(current);
                Chunk next = free.poll();
                current = next != null ? next : new Chunk(new byte[CHUNK]);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** For the socket thread: the chunks are on the wire; their room is free again. */
    void written(List<Chunk> chunks) {
        lock.lock();
        try {
            for (Chunk c : chunks) {
                queued -= c.len;
                c.len = 0;
                if (free.size() < 4) {
                    free.add(c);
                }
            }
            room.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A send on a failed connection. */
    static final class Failed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failed(String reason) {
            super(reason, null, false, false);
        }
    }
}
