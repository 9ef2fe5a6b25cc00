package dev.riffle.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;

/**
 * Control protocol v1 (docs/protocol.md): which message types exist and which fields each must have. A
 * message is a JSON object with a {@code type}; unknown fields are ignored; an unknown type or a missing or
 * mistyped field is a protocol error.
 */
public final class Protocol {
    public static final int VERSION = 1;
    public static final ObjectMapper JSON = new ObjectMapper();

    private Protocol() {}

    /** A message that breaks the protocol. */
    public static final class ProtocolException extends Exception {
        private static final long serialVersionUID = 1L;

        public ProtocolException(String message) {
            super(message);
        }
    }

    private static final List<String> PHASES = List.of("init", "transform", "produce");
    private static final List<String> LEVELS = List.of("debug", "info", "warn", "error");
    private static final List<String> ROLES = List.of("reader", "writer");
    // file and http are the connector architecture's file and HTTP ends: parsed here, refused by Wiring (the
    // plan gives them only to runners that declare riffle:supportsTransport, which this one does not).
    private static final List<String> TRANSPORTS = List.of("memory", "tcp", "websocket", "file", "http");

    /** Field specs: "s" string, "s?" string or null, "i" non-negative integer, "o" object, "a" array. */
    private static final Map<String, String[]> RUNNER = Map.of(
            "hello", new String[] {"protocol:i", "secret:s", "runner:s", "language:s", "pid:i"},
            "listening", new String[] {"endpoint:s"},
            "wired", new String[] {},
            "initialised", new String[] {},
            "finished", new String[] {"processor:s"},
            "failed", new String[] {"processor:s", "phase:phase", "message:s", "stack:s?"},
            "log", new String[] {"processor:s?", "level:level", "message:s"},
            "stats", new String[] {"ends:stats"},
            "bye", new String[] {});

    private static final Map<String, String[]> ORCHESTRATOR = Map.of(
            "welcome", new String[] {"protocol:i", "run:s"},
            "refused", new String[] {"reason:s"},
            "assign", new String[] {"processors:processors", "channels:channels"},
            "connect", new String[] {"endpoints:o"},
            "init", new String[] {},
            "start", new String[] {},
            "stop", new String[] {"reason:s"});

    /** Parses and checks a message the orchestrator sent. */
    public static JsonNode parseOrchestrator(String text) throws ProtocolException {
        return parse(text, ORCHESTRATOR);
    }

    /** Parses and checks a message a runner sent. */
    public static JsonNode parseRunner(String text) throws ProtocolException {
        return parse(text, RUNNER);
    }

    private static JsonNode parse(String text, Map<String, String[]> types) throws ProtocolException {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (Exception e) {
            throw new ProtocolException("not JSON: " + e.getMessage().split("\n")[0]);
        }
        check(node, types);
        return node;
    }

    private static void check(JsonNode node, Map<String, String[]> types) throws ProtocolException {
        if (node == null || !node.isObject()) {
            throw new ProtocolException("a message must be a JSON object");
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw new ProtocolException("a message needs a string \"type\"");
        }
        String[] fields = types.get(type.asText());
        if (fields == null) {
            throw new ProtocolException("unknown message type \"" + type.asText() + "\"");
        }
        for (String spec : fields) {
            int colon = spec.indexOf(':');
            field(node, type.asText(), spec.substring(0, colon), spec.substring(colon + 1));
        }
    }

    private static void field(JsonNode parent, String where, String name, String kind) throws ProtocolException {
        JsonNode v = parent.get(name);
        boolean nullable = kind.endsWith("?");
        if (v == null && !nullable) {
            throw new ProtocolException(where + ": missing field \"" + name + "\"");
        }
        if (v == null || (nullable && v.isNull())) {
            return;
        }
        String bad = null;
        switch (kind.replace("?", "")) {
            case "s":
                bad = v.isTextual() ? null : "a string";
                break;
            case "i":
                bad = v.isIntegralNumber() && v.asLong() >= 0 ? null : "a non-negative integer";
                break;
            case "o":
                bad = v.isObject() ? null : "an object";
                break;
            case "phase":
                bad = v.isTextual() && PHASES.contains(v.asText()) ? null : "one of " + PHASES;
                break;
            case "level":
                bad = v.isTextual() && LEVELS.contains(v.asText()) ? null : "one of " + LEVELS;
                break;
            case "role":
                bad = v.isTextual() && ROLES.contains(v.asText()) ? null : "one of " + ROLES;
                break;
            case "transport":
                bad = v.isTextual() && TRANSPORTS.contains(v.asText()) ? null : "one of " + TRANSPORTS;
                break;
            case "stats":
                each(v, where + ".ends", new String[] {"channel:s", "processor:s", "role:role", "messages:i", "bytes:i"});
                break;
            case "processors":
                each(v, where + ".processors", new String[] {"id:s", "class:s", "implementation:o", "arguments:o"});
                break;
            case "channels":
                each(v, where + ".channels", new String[] {"id:s", "transport:transport", "writers:ends", "readers:ends"});
                break;
            case "ends":
                each(v, where + "." + name, new String[] {"processor:s", "argument:s", "runner:s"});
                break;
            default:
                throw new IllegalStateException("unknown field kind " + kind);
        }
        if (bad != null) {
            throw new ProtocolException(where + ": field \"" + name + "\" must be " + bad + ", not " + v);
        }
    }

    private static void each(JsonNode v, String where, String[] fields) throws ProtocolException {
        if (!v.isArray()) {
            throw new ProtocolException(where + " must be an array");
        }
        for (JsonNode item : v) {
            if (!item.isObject()) {
                throw new ProtocolException(where + " must hold objects");
            }
            for (String spec : fields) {
                int colon = spec.indexOf(':');
                field(item, where, spec.substring(0, colon), spec.substring(colon + 1));
            }
        }
    }
}
