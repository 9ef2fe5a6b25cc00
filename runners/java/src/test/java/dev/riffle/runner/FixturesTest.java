package dev.riffle.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every golden fixture of protocol/fixtures parses (or, under invalid/, is refused) as the protocol says. */
class FixturesTest {
    static final Path FIXTURES = Path.of("../../protocol/fixtures");

    static List<Path> files(String folder) throws Exception {
        try (Stream<Path> s = Files.list(FIXTURES.resolve(folder))) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void every_runner_message_parses_with_its_type() throws Exception {
        List<Path> files = files("runner");
        assertEquals(9, files.size());
        for (Path f : files) {
            JsonNode m = Protocol.parseRunner(Files.readString(f));
            assertEquals(f.getFileName().toString().replace(".json", ""), m.get("type").asText());
        }
    }

    @Test
    void every_orchestrator_message_parses_with_its_type() throws Exception {
        List<Path> files = files("orchestrator");
        assertEquals(7, files.size());
        for (Path f : files) {
            JsonNode m = Protocol.parseOrchestrator(Files.readString(f));
            assertEquals(f.getFileName().toString().replace(".json", ""), m.get("type").asText());
        }
    }

    @Test
    void every_invalid_message_is_refused() throws Exception {
        List<Path> files = files("invalid");
        assertEquals(5, files.size());
        for (Path f : files) {
            String text = Files.readString(f);
            assertThrows(Protocol.ProtocolException.class, () -> Protocol.parseRunner(text), f.toString());
            assertThrows(Protocol.ProtocolException.class, () -> Protocol.parseOrchestrator(text), f.toString());
        }
        Protocol.ProtocolException e = assertThrows(Protocol.ProtocolException.class,
                () -> Protocol.parseRunner(Files.readString(FIXTURES.resolve("invalid/hello-without-secret.json"))));
        assertEquals("hello: missing field \"secret\"", e.getMessage());
        e = assertThrows(Protocol.ProtocolException.class,
                () -> Protocol.parseRunner(Files.readString(FIXTURES.resolve("invalid/unknown-type.json"))));
        assertEquals("unknown message type \"launch\"", e.getMessage());
    }

    @Test
    void the_whole_session_parses_in_order() throws Exception {
        List<String> lines = Files.readAllLines(FIXTURES.resolve("session.jsonl"));
        StringBuilder types = new StringBuilder();
        for (String line : lines) {
            JsonNode entry = Protocol.JSON.readTree(line);
            String message = entry.get("message").toString();
            JsonNode m = entry.get("from").asText().equals("runner") ? Protocol.parseRunner(message)
                    : Protocol.parseOrchestrator(message);
            types.append(m.get("type").asText()).append(' ');
        }
        assertEquals("hello welcome assign listening connect wired init initialised start log finished log finished "
                + "stop stats bye ", types.toString());
        assertTrue(lines.size() == 16);
    }
}
