package dev.riffle.builtin;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;

/** {@code riffle:JavaPassThrough}: forwards every message unchanged. */
public final class PassThrough extends Processor<PassThrough.Args> {
    public record Args(Reader reader, Writer writer) {}

    public PassThrough(Args args) {
        super(args);
    }

    @Override
    public void transform() throws InterruptedException {
        Message m;
        while ((m = args.reader().receive()) != null) {
            args.writer().send(m);
        }
        args.writer().close();
    }
}
