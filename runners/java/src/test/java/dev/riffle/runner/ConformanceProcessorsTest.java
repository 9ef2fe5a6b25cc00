package dev.riffle.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.riffle.processor.Message;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Writer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conformance processors built as the runner builds them: from assign JSON, through the Jackson binding. */
class ConformanceProcessorsTest {
    static final String OUT = "file:///c/out";

    /** A writer that keeps what it is sent, for asserting on it. */
    static final class Kept implements Writer {
        final List<Message> messages = new ArrayList<>();
        boolean closed;

        @Override
        public String channel() {
            return OUT;
        }

        @Override
        public void send(Message message) {
            messages.add(message);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    static Processor<?> build(String cls, String arguments, Kept kept) throws Exception {
        Ends ends = new Ends("file:///c/p");
        ends.writers.put(OUT, new CountingWriter(OUT, List.of(kept)));
        JsonNode assignment = Protocol.JSON.readTree("{\"id\":\"file:///c/p\",\"class\":\"urn:c\","
                + "\"implementation\":{\"class\":\"dev.riffle.conformance." + cls + "\"},\"arguments\":" + arguments
                + "}");
        return Construct.build(assignment, ends);
    }

    @Test
    void arguments_writes_back_what_the_binding_produced() throws Exception {
        // The arguments `riffle plan` gives for the kit's rcf:Arguments input (docs/adding-a-runner.md).
        String values = "\"text\":\"h\u00e9llo \\\"w\u00f6rld\\\"\\n\\ttab \u2713\",\"integer\":1234567890123,"
                + "\"negative\":-42,\"double\":0.0025,\"decimal\":12.75,\"flag\":false,"
                + "\"iri\":\"http://example.org/a?b=1&c=%20#frag\",\"strings\":[\"first\",\"second\",\"third\"],"
                + "\"numbers\":[3,1,2],\"none\":[],\"fallback\":\"the default\","
                + "\"nested\":{\"name\":\"inner\",\"count\":3,\"tags\":[\"x\",\"y\"]},"
                + "\"nestedList\":[{\"name\":\"one\",\"tags\":[]},{\"name\":\"two\",\"count\":2,\"tags\":[]}]";
        Kept kept = new Kept();
        Processor<?> p = build("Arguments", "{\"writer\":{\"@writer\":\"" + OUT + "\"}," + values + "}", kept);
        p.produce();
        assertEquals(1, kept.messages.size());
        assertTrue(kept.messages.get(0).isText());
        assertEquals(Protocol.JSON.readTree("{" + values + "}"), Protocol.JSON.readTree(
                kept.messages.get(0).asString()));
        assertTrue(kept.closed);
    }

    @Test
    void arguments_leaves_out_what_was_not_given() throws Exception {
        Kept kept = new Kept();
        build("Arguments", "{\"writer\":{\"@writer\":\"" + OUT + "\"},\"flag\":true}", kept).produce();
        assertEquals("{\"flag\":true}", kept.messages.get(0).asString());
    }

    @Test
    void fail_refuses_an_unknown_phase_when_built() {
        Construct.BuildException e = assertThrows(Construct.BuildException.class, () -> build("Fail",
                "{\"phase\":\"later\",\"message\":\"m\"}", new Kept()));
        assertEquals("processor file:///c/p (dev.riffle.conformance.Fail): its constructor threw "
                + "java.lang.IllegalArgumentException: phase is later; it must be init, transform, close or produce",
                e.getMessage());
    }

    @Test
    void fail_throws_its_message_in_init() throws Exception {
        Processor<?> p = build("Fail", "{\"phase\":\"init\",\"message\":\"boom\"}", new Kept());
        RuntimeException e = assertThrows(RuntimeException.class, p::init);
        assertEquals("boom", e.getMessage());
        p.produce();
    }
}
