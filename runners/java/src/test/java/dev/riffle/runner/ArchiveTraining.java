package dev.riffle.runner;

import com.fasterxml.jackson.databind.JsonNode;
import dev.riffle.channels.FakeOrchestrator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the runner's class-data-sharing archive ({@code mvn package} runs this after the jar is built): the
 * real runner jar does one session against this fake orchestrator, with a pipeline touching what a run
 * touches at start-up (Jackson binding, memory, TCP and WebSocket channels in and out, logs, stats), under
 * {@code -XX:ArchiveClassesAtExit}. The JVM then maps those classes already parsed and verified instead of
 * loading them from the jar, which is most of the runner's start-up.
 *
 * <p>Usage: {@code ArchiveTraining <jar> <archive> <runner.ttl>}. The JVM flags come from runner.ttl's argv
 * (those before {@code -jar}, with {@code -XX:SharedArchiveFile} replaced by {@code -XX:ArchiveClassesAtExit}):
 * an archive written under other flags (another garbage collector, say) may be refused at start-up.
 */
public final class ArchiveTraining {
    private static final String SECRET = "archive-training";
    private static final String P = "file:///riffle/archive-training/";

    private ArchiveTraining() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: ArchiveTraining <jar> <archive> <runner.ttl>");
        }
        Path jar = Path.of(args[0]).toAbsolutePath();
        Path archive = Path.of(args[1]).toAbsolutePath();
        // The JVM writes the archive read-only; start from nothing so that a failed run leaves no stale one.
        Files.deleteIfExists(archive);
        List<String> command = new ArrayList<>(List.of("java", "-XX:ArchiveClassesAtExit=" + archive));
        command.addAll(jvmFlags(Path.of(args[2])));
        command.addAll(List.of("-jar", jar.toString()));
        try (FakeOrchestrator fake = new FakeOrchestrator()) {
            ProcessBuilder b = new ProcessBuilder(command);
            b.environment().put("RIFFLE_CONTROL_URL", fake.url());
            b.environment().put("RIFFLE_SECRET", SECRET);
            b.environment().put("RIFFLE_RUNNER_ID", "java");
            b.redirectOutput(ProcessBuilder.Redirect.INHERIT);
            b.redirectError(ProcessBuilder.Redirect.INHERIT);
            Process runner = b.start();
            session(fake);
            if (!runner.waitFor(60, TimeUnit.SECONDS)) {
                runner.destroyForcibly();
                throw new IllegalStateException("the training runner did not exit within 60 s after bye");
            }
            if (runner.exitValue() != 0) {
                throw new IllegalStateException("the training runner exited with " + runner.exitValue());
            }
        }
        if (!Files.isRegularFile(archive)) {
            throw new IllegalStateException("the JVM wrote no archive at " + archive);
        }
        System.out.println("riffle: class-data-sharing archive " + archive + " (" + Files.size(archive) / 1024
                + " KiB)");
    }

    /** The flags between {@code "java"} and {@code "-jar"} in runner.ttl's {@code riffle:argv} list. */
    static List<String> jvmFlags(Path runnerTtl) throws Exception {
        Matcher list = Pattern.compile("riffle:argv\\s*\\(([^)]*)\\)").matcher(Files.readString(runnerTtl));
        if (!list.find()) {
            throw new IllegalStateException(runnerTtl + " has no riffle:argv ( ... ) list");
        }
        List<String> argv = new ArrayList<>();
        Matcher item = Pattern.compile("\"([^\"]*)\"").matcher(list.group(1));
        while (item.find()) {
            argv.add(item.group(1));
        }
        int jar = argv.indexOf("-jar");
        if (argv.isEmpty() || !argv.get(0).equals("java") || jar < 0) {
            throw new IllegalStateException(runnerTtl + ": riffle:argv is not ( \"java\" flags... \"-jar\" ... ): " + argv);
        }
        List<String> flags = new ArrayList<>();
        for (String flag : argv.subList(1, jar)) {
            if (!flag.startsWith("-XX:SharedArchiveFile=")) {
                flags.add(flag);
            }
        }
        return flags;
    }

    private static void session(FakeOrchestrator fake) throws Exception {
        fake.accept();
        expect(fake, "hello");
        fake.send("{\"type\":\"welcome\",\"protocol\":" + Protocol.VERSION + ",\"run\":\"archive-training\"}");
        fake.send(assign());
        String endpoint = expect(fake, "listening").get("endpoint").asText();
        fake.send("{\"type\":\"connect\",\"endpoints\":{\"java\":\"" + endpoint + "\"}}");
        expect(fake, "wired");
        fake.send("{\"type\":\"init\"}");
        expect(fake, "initialised");
        fake.send("{\"type\":\"start\"}");
        for (int finished = 0; finished < 7; ) {
            JsonNode m = next(fake);
            String type = m.get("type").asText();
            if (type.equals("failed")) {
                throw new IllegalStateException("the training pipeline failed: " + m);
            }
            finished += type.equals("finished") ? 1 : 0;
        }
        fake.send("{\"type\":\"stop\",\"reason\":\"every processor finished\"}");
        String last = null;
        String text;
        while ((text = fake.receive()) != null) {
            last = Protocol.parseRunner(text).get("type").asText();
        }
        if (!"bye".equals(last)) {
            throw new IllegalStateException("the training runner ended without bye (last: " + last + ")");
        }
    }

    private static JsonNode next(FakeOrchestrator fake) throws Exception {
        String text = fake.receive();
        if (text == null) {
            throw new IllegalStateException("the training runner closed the control connection");
        }
        return Protocol.parseRunner(text);
    }

    private static JsonNode expect(FakeOrchestrator fake, String type) throws Exception {
        while (true) {
            JsonNode m = next(fake);
            String got = m.get("type").asText();
            if (got.equals(type)) {
                return m;
            }
            if (!got.equals("log") && !got.equals("stats")) {
                throw new IllegalStateException("the training runner sent " + m + " where " + type + " was due");
            }
        }
    }

    /**
     * Text over TCP, upper-cased, over WebSocket, echoed into memory, counted; bytes over TCP; the conformance
     * rcf:Arguments (typed binding and Jackson output) into a counter.
     */
    private static String assign() {
        return "{\"type\":\"assign\",\"processors\":["
                + processor("gen", "builtin.Generator", "{\"writer\":{\"@writer\":\"" + P + "text\"},\"count\":1000,"
                        + "\"size\":64,\"text\":true}")
                + "," + processor("upper", "builtin.UpperCase", "{\"reader\":{\"@reader\":\"" + P + "text\"},"
                        + "\"writer\":{\"@writer\":\"" + P + "upper\"}}")
                + "," + processor("echo", "builtin.PassThrough", "{\"reader\":{\"@reader\":\"" + P + "upper\"},"
                        + "\"writer\":{\"@writer\":\"" + P + "echoed\"}}")
                + "," + processor("count", "builtin.Counter", "{\"reader\":{\"@reader\":\"" + P + "echoed\"}}")
                + "," + processor("bytes", "builtin.Generator", "{\"writer\":{\"@writer\":\"" + P + "bytes\"},"
                        + "\"count\":1000,\"size\":1024,\"text\":false}")
                + "," + processor("args", "conformance.Arguments", "{\"writer\":{\"@writer\":\"" + P + "bytes\"},"
                        + "\"text\":\"t\",\"integer\":1,\"negative\":-1,\"double\":0.5,\"decimal\":1.5,"
                        + "\"flag\":true,\"iri\":\"http://example.org/\",\"strings\":[\"s\"],\"numbers\":[1],"
                        + "\"none\":[],\"fallback\":\"f\",\"nested\":{\"name\":\"n\",\"count\":1,\"tags\":[]},"
                        + "\"nestedList\":[{\"name\":\"n\",\"tags\":[\"t\"]}]}")
                + "," + processor("sink", "builtin.Counter", "{\"reader\":{\"@reader\":\"" + P + "bytes\"}}")
                + "],\"channels\":["
                + channel("text", "tcp", "gen", "writer", "upper", "reader")
                + "," + channel("upper", "websocket", "upper", "writer", "echo", "reader")
                + "," + channel("echoed", "memory", "echo", "writer", "count", "reader")
                + ",{\"id\":\"" + P + "bytes\",\"transport\":\"tcp\",\"writers\":[" + end("bytes", "writer") + ","
                + end("args", "writer") + "],\"readers\":[" + end("sink", "reader") + "]}"
                + "]}";
    }

    private static String processor(String name, String cls, String arguments) {
        return "{\"id\":\"" + P + name + "\",\"class\":\"https://w3id.org/riffle#Training\","
                + "\"implementation\":{\"class\":\"dev.riffle." + cls + "\"},\"arguments\":" + arguments + "}";
    }

    private static String channel(String id, String transport, String writer, String wArg, String reader,
            String rArg) {
        return "{\"id\":\"" + P + id + "\",\"transport\":\"" + transport + "\",\"writers\":[" + end(writer, wArg)
                + "],\"readers\":[" + end(reader, rArg) + "]}";
    }

    private static String end(String processor, String argument) {
        return "{\"processor\":\"" + P + processor + "\",\"argument\":\"" + argument + "\",\"runner\":\"java\"}";
    }
}
