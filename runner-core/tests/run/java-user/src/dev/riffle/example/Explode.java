package dev.riffle.example;

import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;

/** A user processor that fails on its first message. */
public final class Explode extends Processor<Explode.Args> {
    public record Args(Reader reader) {}

    public Explode(Args args) {
        super(args);
    }

    @Override
    public void transform() throws InterruptedException {
        String first = args.reader().receive().asString();
        fail(first);
    }

    private static void fail(String what) {
        throw new IllegalStateException("cannot take " + what);
    }
}
