package dev.riffle.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.riffle.channels.FakeOrchestrator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One runner process against a fake orchestrator: the replay of session.jsonl with a local pipeline. */
class SessionTest {
    static final String SECRET = "3f9a0c1d2e4b5a6978877665544332211ffeeddccbbaa99887766554433221100";
    static final String GEN = "file:///pipelines/demo/gen";
    static final String SINK = "file:///pipelines/demo/sink";
    static final String NUMBERS = "file:///pipelines/demo/numbers";

    static Process spawn(FakeOrchestrator fake, String secret) throws Exception {
        ProcessBuilder b = new ProcessBuilder("java", "-cp", System.getProperty("java.class.path"),
                "dev.riffle.runner.Main");
        b.environment().put("RIFFLE_CONTROL_URL", fake.url());
        b.environment().put("RIFFLE_SECRET", secret);
        b.environment().put("RIFFLE_RUNNER_ID", "java");
        b.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return b.start();
    }

    static JsonNode fixture(String name) throws Exception {
        return Protocol.JSON.readTree(Files.readString(Path.of("../../protocol/fixtures").resolve(name)));
    }

    static JsonNode recv(FakeOrchestrator fake) throws Exception {
        String text = fake.receive();
        return text == null ? null : Protocol.parseRunner(text);
    }

    /** The next message that is not {@code stats}, which the runner sends on a timer once it has channel ends. */
    static JsonNode recvStep(FakeOrchestrator fake) throws Exception {
        JsonNode m;
        do {
            m = recv(fake);
        } while (m != null && m.get("type").asText().equals("stats"));
        return m;
    }

    static String localAssign(long count) {
        return "{\"type\":\"assign\",\"processors\":["
                + "{\"id\":\"" + GEN + "\",\"class\":\"https://w3id.org/riffle#JavaGenerator\","
                + "\"implementation\":{\"class\":\"dev.riffle.builtin.Generator\"},"
                + "\"arguments\":{\"writer\":{\"@writer\":\"" + NUMBERS + "\"},\"count\":" + count
                + ",\"size\":64,\"text\":true}},"
                + "{\"id\":\"" + SINK + "\",\"class\":\"https://w3id.org/riffle#JavaCounter\","
                + "\"implementation\":{\"class\":\"dev.riffle.builtin.Counter\"},"
                + "\"arguments\":{\"reader\":{\"@reader\":\"" + NUMBERS + "\"}}}],"
                + "\"channels\":[{\"id\":\"" + NUMBERS + "\",\"transport\":\"memory\","
                + "\"writers\":[{\"processor\":\"" + GEN + "\",\"argument\":\"writer\",\"runner\":\"java\"}],"
                + "\"readers\":[{\"processor\":\"" + SINK + "\",\"argument\":\"reader\",\"runner\":\"java\"}]}]}";
    }

    @Test
    void replays_the_session_with_a_local_pipeline() throws Exception {
        try (FakeOrchestrator fake = new FakeOrchestrator()) {
            Process p = spawn(fake, SECRET);
            fake.accept();
            ObjectNode hello = (ObjectNode) recv(fake);
            assertEquals(SECRET, hello.get("secret").asText());
            assertEquals(p.pid(), hello.get("pid").asLong());
            ObjectNode expected = (ObjectNode) fixture("runner/hello.json");
            for (String f : new String[] {"pid", "secret", "runner", "language"}) {
                hello.remove(f);
                expected.remove(f);
            }
            assertEquals(expected, hello);

            fake.send(fixture("orchestrator/welcome.json").toString());
            fake.send(localAssign(1000));
            JsonNode listening = recv(fake);
            assertEquals("listening", listening.get("type").asText());
            String endpoint = listening.get("endpoint").asText();
            assertTrue(endpoint.startsWith("127.0.0.1:") && !endpoint.endsWith(":0"), endpoint);
            fake.send("{\"type\":\"connect\",\"endpoints\":{\"java\":\"" + endpoint + "\"}}");
            assertEquals(fixture("runner/wired.json"), recvStep(fake));
            fake.send(fixture("orchestrator/init.json").toString());
            assertEquals(fixture("runner/initialised.json"), recvStep(fake));
            fake.send(fixture("orchestrator/start.json").toString());

            List<JsonNode> after = new ArrayList<>();
            int finished = 0;
            while (finished < 2) {
                JsonNode m = recv(fake);
                if (!m.get("type").asText().equals("stats")) {
                    after.add(m);
                    finished += m.get("type").asText().equals("finished") ? 1 : 0;
                }
            }
            assertEquals(List.of("log sent 1000 messages", "finished"), of(after, GEN));
            assertEquals(List.of("log 1000 messages, 64000 bytes", "finished"), of(after, SINK));
            assertEquals(4, after.size(), after.toString());

            fake.send("{\"type\":\"stop\",\"reason\":\"every processor finished\"}");
            List<JsonNode> rest = new ArrayList<>();
            JsonNode m;
            while ((m = recv(fake)) != null) {
                rest.add(m);
            }
            assertEquals("bye", rest.get(rest.size() - 1).get("type").asText());
            JsonNode stats = rest.get(rest.size() - 2);
            assertEquals("stats", stats.get("type").asText());
            List<String> ends = new ArrayList<>();
            for (JsonNode e : stats.get("ends")) {
                ends.add(e.get("processor").asText() + " " + e.get("role").asText() + " " + e.get("messages") + " "
                        + e.get("bytes"));
            }
            ends.sort(null);
            assertEquals(List.of(GEN + " writer 1000 64000", SINK + " reader 1000 64000"), ends);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        }
    }

    static List<String> of(List<JsonNode> messages, String processor) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : messages) {
            if (m.get("processor").asText().equals(processor)) {
                String type = m.get("type").asText();
                out.add(type.equals("log") ? "log " + m.get("message").asText() : type);
            }
        }
        return out;
    }

    /**
     * A stop mid-stream interrupts the processor threads; what they throw then is the stop, not their failure.
     * The race this guards against (a processor's InterruptedException sent as {@code failed} before
     * {@code bye}) was rare, so the stop is repeated.
     */
    @Test
    void a_stop_mid_stream_stops_processors_without_failing_them() throws Exception {
        for (int attempt = 0; attempt < 5; attempt++) {
            try (FakeOrchestrator fake = new FakeOrchestrator()) {
                Process p = spawn(fake, SECRET);
                fake.accept();
                recv(fake);
                fake.send(fixture("orchestrator/welcome.json").toString());
                fake.send(localAssign(Long.MAX_VALUE));
                String endpoint = recv(fake).get("endpoint").asText();
                fake.send("{\"type\":\"connect\",\"endpoints\":{\"java\":\"" + endpoint + "\"}}");
                recvStep(fake);
                fake.send(fixture("orchestrator/init.json").toString());
                recvStep(fake);
                fake.send(fixture("orchestrator/start.json").toString());
                JsonNode m;
                do {
                    m = recv(fake);
                } while (!m.get("type").asText().equals("stats"));
                fake.send(fixture("orchestrator/stop.json").toString());
                List<String> types = new ArrayList<>();
                while ((m = recv(fake)) != null) {
                    types.add(m.get("type").asText());
                }
                assertEquals("bye", types.get(types.size() - 1), types.toString());
                assertTrue(!types.contains("failed") && !types.contains("finished"), types.toString());
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue());
            }
        }
    }

    @Test
    void an_unknown_class_fails_init_and_names_it() throws Exception {
        try (FakeOrchestrator fake = new FakeOrchestrator()) {
            Process p = spawn(fake, SECRET);
            fake.accept();
            recv(fake);
            fake.send(fixture("orchestrator/welcome.json").toString());
            fake.send("{\"type\":\"assign\",\"processors\":[{\"id\":\"file:///p/nope\",\"class\":\"urn:x\","
                    + "\"implementation\":{\"class\":\"dev.riffle.Nope\"},\"arguments\":{}}],\"channels\":[]}");
            JsonNode listening = recv(fake);
            fake.send("{\"type\":\"connect\",\"endpoints\":{\"java\":\"" + listening.get("endpoint").asText()
                    + "\"}}");
            assertEquals("wired", recv(fake).get("type").asText());
            fake.send("{\"type\":\"init\"}");
            JsonNode failed = recv(fake);
            assertEquals("failed", failed.get("type").asText());
            assertEquals("init", failed.get("phase").asText());
            assertEquals("processor file:///p/nope needs class dev.riffle.Nope, which is not in the Java runner's own "
                    + "classpath (give rdfc:jar or riffle:classes for your own processors) "
                    + "(java.lang.ClassNotFoundException: dev.riffle.Nope)", failed.get("message").asText());
            fake.send(fixture("orchestrator/stop.json").toString());
            JsonNode m;
            String last = null;
            while ((m = recv(fake)) != null) {
                last = m.get("type").asText();
            }
            assertEquals("bye", last);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        }
    }

    @Test
    void a_refused_runner_exits_non_zero_and_says_why() throws Exception {
        try (FakeOrchestrator fake = new FakeOrchestrator()) {
            Process p = spawn(fake, "not-the-secret");
            fake.accept();
            assertEquals("not-the-secret", recv(fake).get("secret").asText());
            fake.send(fixture("orchestrator/refused.json").toString());
            fake.close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue());
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("riffle-runner-java: the orchestrator refused this runner: wrong secret", stderr.trim());
        }
    }

    @Test
    void the_runner_exits_when_the_orchestrator_vanishes() throws Exception {
        FakeOrchestrator fake = new FakeOrchestrator();
        Process p = spawn(fake, SECRET);
        fake.accept();
        recv(fake);
        fake.send(fixture("orchestrator/welcome.json").toString());
        fake.close();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(stderr.contains("the orchestrator went away"), stderr);
    }
}
