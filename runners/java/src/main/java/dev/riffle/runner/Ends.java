package dev.riffle.runner;

import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;
import java.util.LinkedHashMap;
import java.util.Map;

/** One processor's channel ends, by channel id, and which of them its arguments took. */
final class Ends {
    final String processor;
    final Map<String, Reader> readers = new LinkedHashMap<>();
    final Map<String, CountingWriter> writers = new LinkedHashMap<>();
    final java.util.Set<String> claimed = new java.util.HashSet<>();

    Ends(String processor) {
        this.processor = processor;
    }

    Reader reader(String channel) {
        Reader r = readers.get(channel);
        if (r == null) {
            throw new IllegalArgumentException("processor " + processor + " has no reader of channel " + channel);
        }
        claimed.add("r " + channel);
        return r;
    }

    Writer writer(String channel) {
        Writer w = writers.get(channel);
        if (w == null) {
            throw new IllegalArgumentException("processor " + processor + " has no writer of channel " + channel);
        }
        claimed.add("w " + channel);
        return w;
    }

    boolean hasReaders() {
        return !readers.isEmpty();
    }
}
