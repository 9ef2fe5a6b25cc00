package dev.riffle.conformance;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;

/** {@code rcf:Echo}: every message unchanged (text as text, bytes as bytes), in order; closes at the end. */
public final class Echo extends Processor<Echo.Args> {
    public record Args(Reader reader, Writer writer) {}

    public Echo(Args args) {
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
