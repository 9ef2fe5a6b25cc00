package dev.riffle.example;

import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;

/** A user processor: writes every text message reversed, and says so on standard output. */
public final class Reverse extends Processor<Reverse.Args> {
    public record Args(Reader reader, Writer writer, String prefix) {}

    public Reverse(Args args) {
        super(args);
    }

    @Override
    public void transform() {
        for (String s : args.reader().strings()) {
            args.writer().send(args.prefix() + new StringBuilder(s).reverse());
        }
        args.writer().close();
        System.out.println("reversed everything");
    }
}
