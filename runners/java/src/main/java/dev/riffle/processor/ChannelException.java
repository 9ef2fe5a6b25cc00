package dev.riffle.processor;

/** A channel failed: its message names the channel, and the writer or reader concerned. */
public class ChannelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ChannelException(String message) {
        super(message);
    }

    public ChannelException(String message, Throwable cause) {
        super(message, cause);
    }
}
