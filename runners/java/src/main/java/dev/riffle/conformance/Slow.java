package dev.riffle.conformance;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;

/**
 * {@code rcf:Slow}: Echo that waits {@code delayMs} before reading each next message. It sleeps on its own
 * transform thread, so the rest of the runner keeps going while the channel behind it fills up.
 */
public final class Slow extends Processor<Slow.Args> {
    public record Args(Reader reader, Writer writer, long delayMs) {}

    public Slow(Args args) {
        super(args);
        if (args.delayMs() < 0) {
            throw new IllegalArgumentException("delayMs is " + args.delayMs() + "; it must be 0 or more");
        }
    }

    @Override
    public void transform() throws InterruptedException {
        while (true) {
            Thread.sleep(args.delayMs());
            Message m = args.reader().receive();
            if (m == null) {
                break;
            }
            args.writer().send(m);
        }
        args.writer().close();
    }
}
