package dev.riffle.conformance;

import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import java.util.List;

/**
 * {@code rcf:Fail}: throws a {@code RuntimeException} with {@code message} in {@code init}, after reading its
 * first message ({@code transform}), after its reader closed ({@code close}), or in {@code produce}, as
 * {@code phase} says.
 */
public final class Fail extends Processor<Fail.Args> {
    public record Args(Reader reader, String phase, String message) {}

    private static final List<String> PHASES = List.of("init", "transform", "close", "produce");

    public Fail(Args args) {
        super(args);
        if (!PHASES.contains(args.phase())) {
            throw new IllegalArgumentException(
                    "phase is " + args.phase() + "; it must be init, transform, close or produce");
        }
    }

    @Override
    public void init() {
        if (args.phase().equals("init")) {
            throw new RuntimeException(args.message());
        }
    }

    @Override
    public void transform() throws InterruptedException {
        if (args.phase().equals("transform") && args.reader().receive() != null) {
            throw new RuntimeException(args.message());
        }
        if (args.phase().equals("close")) {
            while (args.reader().receive() != null) {
                // Read to the end: the failure must come after the channel closed.
            }
            throw new RuntimeException(args.message());
        }
    }

    @Override
    public void produce() {
        if (args.phase().equals("produce")) {
            throw new RuntimeException(args.message());
        }
    }
}
