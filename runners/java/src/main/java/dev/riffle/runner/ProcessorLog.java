package dev.riffle.runner;

import dev.riffle.processor.Log;

/** A processor's log: each line becomes a {@code log} message naming the processor. */
final class ProcessorLog implements Log {
    private final Session session;
    private final String processor;

    ProcessorLog(Session session, String processor) {
        this.session = session;
        this.processor = processor;
    }

    @Override
    public void debug(String message) {
        session.log(processor, "debug", message);
    }

    @Override
    public void info(String message) {
        session.log(processor, "info", message);
    }

    @Override
    public void warn(String message) {
        session.log(processor, "warn", message);
    }

    @Override
    public void error(String message) {
        session.log(processor, "error", message);
    }
}
