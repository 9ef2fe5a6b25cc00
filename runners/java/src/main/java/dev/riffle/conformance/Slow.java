package dev.riffle.conformance;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;

/**
 * {@code rcf:Slow}: Echo that waits {@code delayMs} before reading each next group of {@code every} messages.
 * It sleeps on its own transform thread, so the rest of the runner keeps going while the channel behind it
 * fills up.
 */
public final class Slow extends Processor<Slow.Args> {
    public record Args(Reader reader, Writer writer, long delayMs, long every) {}

    public Slow(Args args) {
        super(args);
        if (args.delayMs() < 0) {
            throw new IllegalArgumentException("delayMs is " + args.delayMs() + "; it must be 0 or more");
        }
        if (args.every() < 1) {
            throw new IllegalArgumentException("every is " + args.every() + "; it must be 1 or more");
        }
    }

    @Override
    public void transform() throws InterruptedException {
        while (group()) {
            // Each group waits first, then forwards up to `every` messages.
        }
        args.writer().close();
    }

    private boolean group() throws InterruptedException {
        Thread.sleep(args.delayMs());
        for (long i = 0; i < args.every(); i++) {
            Message m = args.reader().receive();
            if (m == null) {
                return false;
            }
            args.writer().send(m);
        }
        return true;
    }
}
