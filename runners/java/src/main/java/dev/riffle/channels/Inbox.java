package dev.riffle.channels;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Reader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The reader of one channel: every writer, in memory or on a network connection, puts into this one bounded
 * queue; the reading processor takes everything queued at once and hands it out without locking. So a
 * message costs one short lock on the writing side and nearly nothing on the reading side.
 *
 * <p>Bounded in messages and bytes; one batch is always let in when the queue is empty, so a message larger
 * than the bound still passes. A full queue blocks writers: network connections then stop reading their
 * socket and TCP's flow control holds the remote writer.
 */
public final class Inbox implements Reader {
    /** Bytes counted for a message beyond its payload, so that many empty messages are bounded too. */
    static final int OVERHEAD = 32;

    private final String channel;
    private final int expected;
    private final int maxMessages;
    private final long maxBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition notFull = lock.newCondition();
    private final Set<String> admitted = new HashSet<>();
    private ArrayList<Object> queue = new ArrayList<>();
    private long queuedBytes;
    private int ended;
    private boolean readerWaiting;
    private int writersWaiting;
    private boolean gone;

    // Owned by the reading thread.
    private ArrayList<Object> taken = new ArrayList<>();
    private int next;
    private volatile long messages;
    private volatile long bytes;

    public Inbox(String channel, int expectedWriters) {
        this(channel, expectedWriters, 4096, 16L << 20);
    }

    public Inbox(String channel, int expectedWriters, int maxMessages, long maxBytes) {
        this.channel = channel;
        this.expected = expectedWriters;
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
    }

    @Override
    public String channel() {
        return channel;
    }

    /** Lets a writer in; each writer id once, at most the expected number. */
    public void admit(String writer) {
        lock.lock();
        try {
            if (gone) {
                throw new ChannelException("channel " + channel + ": the reader is gone");
            }
            if (admitted.contains(writer)) {
                throw new ChannelException("channel " + channel + ": writer id " + writer + " is already connected");
            }
            if (admitted.size() >= expected) {
                throw new ChannelException(
                        "channel " + channel + ": all " + expected + " expected writers are already connected");
            }
            admitted.add(writer);
        } finally {
            lock.unlock();
        }
    }

    /** A writer in this JVM: messages are passed by reference. */
    public dev.riffle.processor.Writer memoryWriter(String writerId) {
        admit(writerId);
        return new MemoryWriter(this, writerId);
    }

    /** Queues one message, waiting while the queue is full. */
    void put(Message message) throws InterruptedException {
        long size = message.length() + OVERHEAD;
        lock.lockInterruptibly();
        try {
            awaitRoom(1, size);
            queue.add(message);
            queuedBytes += size;
            if (readerWaiting) {
                notEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Queues a batch (from one network connection), waiting while the queue is full. */
    void putAll(List<Message> batch, long batchBytes) throws InterruptedException {
        lock.lockInterruptibly();
        try {
            awaitRoom(batch.size(), batchBytes);
            queue.addAll(batch);
            queuedBytes += batchBytes;
            if (readerWaiting) {
                notEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits, holding the lock, until `count` messages of `bytes` fit (an empty queue always takes them);
     * throws once the reader is gone.
     */
    private void awaitRoom(int count, long bytes) throws InterruptedException {
        while (!queue.isEmpty() && (queue.size() + count > maxMessages || queuedBytes + bytes > maxBytes) && !gone) {
            writersWaiting++;
            try {
                notFull.await();
            } finally {
                writersWaiting--;
            }
        }
        if (gone) {
            throw new ChannelException("channel " + channel + ": the reader is gone");
        }
    }

    /** One writer is done: closed normally, or ({@code error} not null) failed after its last message. */
    void end(ChannelException error) {
        lock.lock();
        try {
            if (error != null) {
                queue.add(error);
            }
            ended++;
            if (readerWaiting) {
                notEmpty.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether the reading processor stopped reading: writers into it should stop. */
    boolean isGone() {
        lock.lock();
        try {
            return gone;
        } finally {
            lock.unlock();
        }
    }

    /** The reading processor will read no more: writers waiting for room are released with an error. */
    public void abandon() {
        lock.lock();
        try {
            gone = true;
            queue.clear();
            queuedBytes = 0;
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Message receive() throws InterruptedException {
        while (true) {
            if (next < taken.size()) {
                Object item = taken.get(next);
                taken.set(next, null);
                next++;
                if (item instanceof Message) {
                    Message m = (Message) item;
                    messages++;
                    bytes += m.length();
                    return m;
                }
                throw (ChannelException) item;
            }
            if (!refill()) {
                return null;
            }
        }
    }

    /** Takes everything queued; false at the end of the channel. */
    private boolean refill() throws InterruptedException {
        taken.clear();
        next = 0;
        lock.lockInterruptibly();
        try {
            while (queue.isEmpty()) {
                if (ended >= expected) {
                    return false;
                }
                readerWaiting = true;
                try {
                    notEmpty.await();
                } finally {
                    readerWaiting = false;
                }
            }
            ArrayList<Object> full = queue;
            queue = taken;
            taken = full;
            queuedBytes = 0;
            if (writersWaiting > 0) {
                notFull.signalAll();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Messages handed to the processor so far (read racily by the stats timer). */
    public long messagesRead() {
        return messages;
    }

    /** Bytes handed to the processor so far. */
    public long bytesRead() {
        return bytes;
    }
}
