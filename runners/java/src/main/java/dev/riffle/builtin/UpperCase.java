package dev.riffle.builtin;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;
import java.util.Locale;

/** {@code riffle:UpperCase}: writes every text message upper-cased; bytes messages pass unchanged. */
public final class UpperCase extends Processor<UpperCase.Args> {
    /** Arguments: the channel to read and the one to write. */
    public record Args(Reader reader, Writer writer) {}

    public UpperCase(Args args) {
        super(args);
    }

    @Override
    public void transform() throws InterruptedException {
        Message m;
        while ((m = args.reader().receive()) != null) {
            args.writer().send(m.isText() ? Message.text(m.asString().toUpperCase(Locale.ROOT)) : m);
        }
        args.writer().close();
    }
}
