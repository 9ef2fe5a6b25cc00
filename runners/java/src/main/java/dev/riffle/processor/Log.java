package dev.riffle.processor;

/** A processor's log: every line goes to {@code riffle run}, which shows it with the processor's name. */
public interface Log {
    void debug(String message);

    void info(String message);

    void warn(String message);

    void error(String message);
}
