package dev.riffle.runner;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * {@code System.out} and {@code System.err} written by a processor's threads (and threads they start) become
 * log lines naming the processor: {@code info} for standard output, {@code warn} for standard error. Output
 * from other threads goes where it always went.
 */
final class Output {
    private static final InheritableThreadLocal<String> PROCESSOR = new InheritableThreadLocal<>();
    private static final ThreadLocal<ByteArrayOutputStream> LINE = ThreadLocal.withInitial(ByteArrayOutputStream::new);

    private Output() {}

    static void enter(String processor) {
        PROCESSOR.set(processor);
    }

    static void leave() {
        PROCESSOR.remove();
    }

    static void install(Session session) {
        System.setOut(new PrintStream(new Routed(session, System.out, "info"), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Routed(session, System.err, "warn"), true, StandardCharsets.UTF_8));
    }

    private static final class Routed extends OutputStream {
        private final Session session;
        private final PrintStream original;
        private final String level;

        Routed(Session session, PrintStream original, String level) {
            this.session = session;
            this.original = original;
            this.level = level;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            String processor = PROCESSOR.get();
            if (processor == null) {
                original.write(b, off, len);
                return;
            }
            ByteArrayOutputStream line = LINE.get();
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    session.log(processor, level, text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
                } else {
                    line.write(b[i]);
                }
            }
        }

        @Override
        public void flush() {
            original.flush();
        }
    }
}
