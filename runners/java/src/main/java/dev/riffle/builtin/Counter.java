package dev.riffle.builtin;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;

/** {@code riffle:JavaCounter}: reads to the end, then logs {@code N messages, B bytes}. */
public final class Counter extends Processor<Counter.Args> {
    public record Args(Reader reader) {}

    public Counter(Args args) {
        super(args);
    }

    @Override
    public void transform() throws InterruptedException {
        long messages = 0;
        long bytes = 0;
        Message m;
        while ((m = args.reader().receive()) != null) {
            messages++;
            bytes += m.length();
        }
        log().info(messages + " messages, " + bytes + " bytes");
    }
}
