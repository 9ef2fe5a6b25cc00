package dev.riffle.processor;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * The reading end of a channel. Blocking: {@link #receive()} waits for the next message and returns
 * {@code null} once every writer of the channel has closed. Iterating gives the same messages; a channel error
 * (a writer that vanished, a broken peer) is thrown as a {@link ChannelException} after every message that
 * arrived intact.
 *
 * <p>A reader belongs to one processor and is read by one thread at a time.
 */
public interface Reader extends Iterable<Message> {
    /** The channel id (an IRI). */
    String channel();

    /** The next message, or {@code null} at the end of the channel. */
    Message receive() throws InterruptedException;

    /** Messages until the end of the channel. */
    @Override
    default Iterator<Message> iterator() {
        return new Iterator<>() {
            private Message next;
            private boolean done;

            @Override
            public boolean hasNext() {
                if (next == null && !done) {
                    try {
                        next = receive();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ChannelException("channel " + channel() + ": interrupted while reading", e);
                    }
                    done = next == null;
                }
                return next != null;
            }

            @Override
            public Message next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("channel " + channel() + " has ended");
                }
                Message m = next;
                next = null;
                return m;
            }
        };
    }

    /** Every message as text (bytes messages decoded as UTF-8). */
    default Iterable<String> strings() {
        return converted(Message::asString);
    }

    /** Every message as bytes (text messages encoded as UTF-8). */
    default Iterable<byte[]> bytes() {
        return converted(Message::asBytes);
    }

    private <T> Iterable<T> converted(Function<Message, T> convert) {
        return () -> {
            Iterator<Message> it = iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public T next() {
                    return convert.apply(it.next());
                }
            };
        };
    }
}
