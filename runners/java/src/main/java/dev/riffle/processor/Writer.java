package dev.riffle.processor;

/**
 * The writing end of a channel. {@code send} blocks while the channel's buffers are full (backpressure); it
 * throws a {@link ChannelException} when a reader has gone away. {@link #close()} sends everything still
 * buffered, tells every reader this writer is done and waits until they have read it all.
 *
 * <p>A writer belongs to one processor; sending from several threads at once is safe but interleaves.
 */
public interface Writer extends AutoCloseable {
    /** The channel id (an IRI). */
    String channel();

    /** Sends a message. */
    void send(Message message);

    /** Sends a text message. */
    default void send(String text) {
        send(Message.text(text));
    }

    /** Sends a bytes message; the array must not change afterwards (it may be passed by reference). */
    default void send(byte[] bytes) {
        send(Message.bytes(bytes));
    }

    /** Ends this writer's stream. Closing twice does nothing. */
    @Override
    void close();
}
