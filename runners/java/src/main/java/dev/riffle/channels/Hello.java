package dev.riffle.channels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/** The hello a writer sends and the accept a reader answers (FRAMING.md). */
final class Hello {
    static final int VERSION = 1;
    /** Hello, accept and refuse payloads are at most this long. */
    static final int MAX_CONTROL = 65536;
    static final ObjectMapper JSON = new ObjectMapper();

    final long version;
    final String secret;
    final String channel;
    final String writer;

    Hello(long version, String secret, String channel, String writer) {
        this.version = version;
        this.secret = secret;
        this.channel = channel;
        this.writer = writer;
    }

    byte[] toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("version", version);
        o.put("secret", secret);
        o.put("channel", channel);
        o.put("writer", writer);
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses a hello; the message says what is wrong. */
    static Hello parse(byte[] json) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("the hello is not JSON");
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("the hello is not a JSON object");
        }
        JsonNode v = node.get("version");
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("the hello has no integer version");
        }
        return new Hello(v.asLong(), text(node, "secret"), text(node, "channel"), text(node, "writer"));
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("the hello has no string " + field);
        }
        return v.asText();
    }

    static byte[] acceptJson(long maxMessage) {
        return ("{\"version\":" + VERSION + ",\"max_message\":" + maxMessage + "}").getBytes(StandardCharsets.UTF_8);
    }

    /** The reader's message limit from its accept. */
    static long parseAccept(byte[] json) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("the accept is not JSON");
        }
        JsonNode max = node == null ? null : node.get("max_message");
        if (max == null || !max.isIntegralNumber() || max.asLong() < 0) {
            throw new IllegalArgumentException("the accept has no max_message");
        }
        JsonNode v = node.get("version");
        if (v == null || v.asLong() != VERSION) {
            throw new IllegalArgumentException("the accept has version " + v + ", this writer speaks " + VERSION);
        }
        return max.asLong();
    }
}
