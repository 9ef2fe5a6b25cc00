package dev.riffle.channels;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Writer;

/** A writer into an {@link Inbox} of the same JVM: messages go by reference. */
final class MemoryWriter implements Writer {
    private final Inbox inbox;
    private final String writerId;
    private boolean closed;

    MemoryWriter(Inbox inbox, String writerId) {
        this.inbox = inbox;
        this.writerId = writerId;
    }

    @Override
    public String channel() {
        return inbox.channel();
    }

    @Override
    public void send(Message message) {
        if (closed) {
            throw new ChannelException("channel " + inbox.channel() + ": writer " + writerId + " is closed");
        }
        try {
            inbox.put(message);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChannelException("channel " + inbox.channel() + ": interrupted while sending", e);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            inbox.end(null);
        }
    }

    /** Ends this writer's lane with an error, as a vanished network writer would. */
    void fail(ChannelException error) {
        if (!closed) {
            closed = true;
            inbox.end(error);
        }
    }
}
