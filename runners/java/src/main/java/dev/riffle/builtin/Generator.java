package dev.riffle.builtin;

import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Writer;

/**
 * {@code riffle:JavaGenerator}: writes {@code count} messages of {@code size} bytes, text (the letters a-z
 * repeated) or bytes (0-255 repeated), then logs {@code sent N messages}. Every message is the same payload.
 */
public final class Generator extends Processor<Generator.Args> {
    public record Args(Writer writer, long count, Integer size, Boolean text) {}

    public Generator(Args args) {
        super(args);
    }

    @Override
    public void produce() {
        int size = args.size() == null ? 64 : args.size();
        boolean text = args.text() == null || args.text();
        Message payload;
        if (text) {
            StringBuilder b = new StringBuilder(size);
            for (int i = 0; i < size; i++) {
                b.append((char) ('a' + i % 26));
            }
            payload = Message.text(b.toString());
        } else {
            byte[] bytes = new byte[size];
            for (int i = 0; i < size; i++) {
                bytes[i] = (byte) i;
            }
            payload = Message.bytes(bytes);
        }
        payload.asBytes();
        Writer w = args.writer();
        for (long i = 0; i < args.count(); i++) {
            w.send(payload);
        }
        w.close();
        log().info("sent " + args.count() + " messages");
    }
}
