package dev.riffle.runner;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Writer;
import java.util.List;

/**
 * What a processor holds as a writer: every connection of its end (memory lanes and network writers, one
 * per reading runner), sent to in turn, with counters for {@code stats}.
 */
final class CountingWriter implements Writer {
    private final String channel;
    private final List<Writer> sinks;
    /** Sees every message sent, for rdfc:logLevel; null when the channel has none. */
    private final java.util.function.Consumer<Message> tap;
    private volatile long messages;
    private volatile long bytes;
    private volatile boolean closed;

    CountingWriter(String channel, List<Writer> sinks) {
        this(channel, sinks, null);
    }

    CountingWriter(String channel, List<Writer> sinks, java.util.function.Consumer<Message> tap) {
        this.channel = channel;
        this.sinks = sinks;
        this.tap = tap;
    }

    @Override
    public String channel() {
        return channel;
    }

    @Override
    @SuppressWarnings("NonAtomicOperationOnVolatileField")
    public void send(Message message) {
        if (closed) {
            throw new ChannelException("channel " + channel + ": the writer is closed");
        }
        if (tap != null) {
            tap.accept(message);
        }
        for (int i = 0, n = sinks.size(); i < n; i++) {
            sinks.get(i).send(message);
        }
        // One thread sends (the processor's); the stats timer only reads.
        messages = messages + 1;
        bytes = bytes + message.length();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        ChannelException first = null;
        for (Writer w : sinks) {
            try {
                w.close();
            } catch (ChannelException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** Drops network connections without a close (the run is stopping). */
    void abort() {
        for (Writer w : sinks) {
            if (w instanceof dev.riffle.channels.NetWriter) {
                ((dev.riffle.channels.NetWriter) w).abort();
            }
        }
    }

    long messages() {
        return messages;
    }

    long bytes() {
        return bytes;
    }
}
