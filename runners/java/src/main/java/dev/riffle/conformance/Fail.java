package dev.riffle.conformance;

import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;

/**
 * {@code rcf:Fail}: throws a {@code RuntimeException} with {@code message} in {@code init}, after reading its
 * first message ({@code transform}), or in {@code produce}, as {@code phase} says.
 */
public final class Fail extends Processor<Fail.Args> {
    public record Args(Reader reader, String phase, String message) {}

    public Fail(Args args) {
        super(args);
        if (!"init".equals(args.phase()) && !"transform".equals(args.phase()) && !"produce".equals(args.phase())) {
            throw new IllegalArgumentException("phase is " + args.phase() + "; it must be init, transform or produce");
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
    }

    @Override
    public void produce() {
        if (args.phase().equals("produce")) {
            throw new RuntimeException(args.message());
        }
    }
}
