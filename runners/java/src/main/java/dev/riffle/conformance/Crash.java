package dev.riffle.conformance;

import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;

/** {@code rcf:Crash}: after its first message, ends the JVM at once with status 70, telling no one. */
public final class Crash extends Processor<Crash.Args> {
    public record Args(Reader reader) {}

    public Crash(Args args) {
        super(args);
    }

    @Override
    public void transform() throws InterruptedException {
        if (args.reader().receive() != null) {
            // halt, not exit: no shutdown hooks, so the runner cannot say goodbye (the case is a crash).
            Runtime.getRuntime().halt(70);
        }
    }
}
