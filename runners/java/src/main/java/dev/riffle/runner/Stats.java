package dev.riffle.runner;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.riffle.channels.Inbox;
import java.util.ArrayList;
import java.util.List;

/** Every channel end of this runner with its counters, for {@code stats} messages. */
final class Stats {
    private final List<Object[]> ends = new ArrayList<>();

    synchronized void reader(String channel, String processor, Inbox inbox) {
        ends.add(new Object[] {channel, processor, "reader", inbox});
    }

    synchronized void writer(String channel, String processor, CountingWriter writer) {
        ends.add(new Object[] {channel, processor, "writer", writer});
    }

    /** The {@code stats} message with the counters as they are now. */
    synchronized ObjectNode snapshot() {
        ObjectNode m = Protocol.JSON.createObjectNode();
        m.put("type", "stats");
        ArrayNode list = m.putArray("ends");
        for (Object[] e : ends) {
            ObjectNode o = list.addObject();
            o.put("channel", (String) e[0]);
            o.put("processor", (String) e[1]);
            o.put("role", (String) e[2]);
            if (e[3] instanceof Inbox) {
                o.put("messages", ((Inbox) e[3]).messagesRead());
                o.put("bytes", ((Inbox) e[3]).bytesRead());
            } else {
                o.put("messages", ((CountingWriter) e[3]).messages());
                o.put("bytes", ((CountingWriter) e[3]).bytes());
            }
        }
        return m;
    }
}
