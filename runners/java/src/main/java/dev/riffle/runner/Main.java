package dev.riffle.runner;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.riffle.channels.RunTls;
import java.io.IOException;
import java.io.PrintStream;

/**
 * The Java runner's {@code main}: reads the environment {@code riffle run} sets, joins the run over the
 * control protocol and exits with the session's code (0 after stop, 1 if the orchestrator vanished or
 * refused, 2 without its environment, 143/130 after SIGTERM/SIGINT).
 */
public final class Main {
    static final String NAME = "riffle-runner-java";
    static final PrintStream ERR = System.err;
    private static volatile Session session;

    private Main() {}

    public static void main(String[] args) {
        String url = env("RIFFLE_CONTROL_URL");
        String secret = secret();
        String runner = env("RIFFLE_RUNNER_ID");
        // Unset: where this runner reached the orchestrator from, port 0 (Session decides once connected).
        String listen = System.getenv("RIFFLE_DATA_LISTEN");
        String host = "";
        int port = 0;
        if (listen != null && !listen.isEmpty()) {
            int colon = listen.lastIndexOf(':');
            try {
                port = Integer.parseInt(listen.substring(colon + 1));
            } catch (RuntimeException e) {
                ERR.println(NAME + ": RIFFLE_DATA_LISTEN is " + listen
                        + ", not HOST:PORT (such as 10.0.0.5:0 or runner-b.lan:7001)");
                System.exit(2);
                return;
            }
            host = listen.substring(0, Math.max(colon, 0)).replaceAll("^\\[(.*)\\]$", "$1");
        }
        String advertise = System.getenv("RIFFLE_DATA_ADVERTISE");
        RunTls tls = RunTls.isEncrypted(url) ? runTls() : null;
        int code;
        try {
            Session s = new Session(url, secret, tls, runner, host, port, advertise);
            session = s;
            code = s.run();
        } catch (Session.Refused e) {
            ERR.println(NAME + ": the orchestrator refused this runner: " + e.getMessage());
            code = 1;
        } catch (IOException | Protocol.ProtocolException e) {
            ERR.println(NAME + ": " + e.getMessage());
            code = 1;
        }
        ERR.flush();
        if (code == Session.SIGNALLED) {
            // The shutdown hook said bye; halting here would replace the JVM's 128 + signal status with ours.
            return;
        }
        Runtime.getRuntime().halt(code);
    }

    private static String secret() {
        String direct = System.getenv("RIFFLE_SECRET");
        String file = System.getenv("RIFFLE_SECRET_FILE");
        if ((direct != null && !direct.isEmpty()) || file == null || file.isEmpty()) {
            return env("RIFFLE_SECRET");
        }
        try {
            return secretFromFile(file);
        } catch (IllegalArgumentException e) {
            ERR.println(NAME + ": " + e.getMessage());
            System.exit(2);
            return null;
        }
    }

    /**
     * The run's TLS identity, from the secret file every runner of an encrypted run is given; without it, one
     * line on stderr and exit 1 before connecting.
     */
    private static RunTls runTls() {
        String file = System.getenv("RIFFLE_SECRET_FILE");
        String why;
        if (file == null || file.isEmpty()) {
            why = "is not set";
        } else {
            try {
                return RunTls.parse(java.nio.file.Files.readString(java.nio.file.Path.of(file)));
            } catch (RunTls.IdentityException e) {
                why = "(" + file + ") " + e.getMessage();
            } catch (IOException | RuntimeException e) {
                why = "(" + file + ") cannot be read: " + e.getMessage();
            }
        }
        ERR.println(RunTls.identityLine(why));
        ERR.flush();
        Runtime.getRuntime().halt(1);
        return null;
    }

    /** The first line of the file RIFFLE_SECRET_FILE names (riffle prints that, never the secret). */
    static String secretFromFile(String file) {
        String first;
        try {
            java.util.List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of(file));
            first = lines.isEmpty() ? "" : lines.get(0).trim();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("RIFFLE_SECRET_FILE=" + file + " cannot be read: " + e.getMessage());
        }
        if (first.isEmpty()) {
            throw new IllegalArgumentException(
                    "RIFFLE_SECRET_FILE=" + file + " is empty; it should hold the run's secret on its first line");
        }
        return first;
    }

    private static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            ERR.println(NAME + ": " + name + " is not set (this program is started by `riffle run`, which sets "
                    + "RIFFLE_CONTROL_URL, RIFFLE_SECRET and RIFFLE_RUNNER_ID)");
            System.exit(2);
        }
        return v;
    }

    /** A log line from the runner itself (processor null). */
    static void runnerLog(String level, String message) {
        Session s = session;
        if (s != null) {
            s.log(null, level, message);
        } else {
            ERR.println(NAME + ": " + level + ": " + message);
        }
    }

    static ObjectNode message(String type) {
        ObjectNode m = Protocol.JSON.createObjectNode();
        m.put("type", type);
        return m;
    }
}
