package dev.riffle.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.riffle.channels.Endpoint;
import dev.riffle.channels.Links;
import dev.riffle.channels.RunTls;
import dev.riffle.processor.Log;
import dev.riffle.processor.Processor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The runner side of the control protocol. The main thread reads the orchestrator's messages; slow steps
 * (connecting writers, init) and the processors run on their own threads and report by sending their
 * messages themselves, so a {@code stop}, a lost connection or a signal is seen at once.
 */
final class Session {
    private final Control control;
    private final String secret;
    private final RunTls tls;
    /** The run's secret, TLS and heartbeat deadline for data connections: known once welcome came. */
    private Links links;
    private final String runnerId;
    private final String host;
    private final int port;
    private final String advertise;
    private final Stats stats = new Stats();
    private Wiring wiring;
    private JsonNode assigned;
    private final List<Ready> ready = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "riffle-stats");
        t.setDaemon(true);
        return t;
    });
    private String lastStats = "";
    private boolean saidBye;
    /** Set by the shutdown hook (SIGTERM, SIGINT) before it stops the session. */
    private volatile boolean signalled;
    /**
     * Set by {@link #stop()} before it interrupts the processor threads: what they throw from then on is the
     * interrupt, not a failure of theirs.
     */
    private volatile boolean stopping;

    /** What {@link #run()} returns when a signal stopped it: the JVM is exiting already, with 128 + the signal. */
    static final int SIGNALLED = -1;

    /** The orchestrator said no. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String reason) {
            super(reason);
        }
    }

    /** A processor built and initialised, waiting for {@code start}. */
    private static final class Ready {
        final String id;
        final Processor<?> processor;
        final Ends ends;

        Ready(String id, Processor<?> processor, Ends ends) {
            this.id = id;
            this.processor = processor;
            this.ends = ends;
        }
    }

    Session(String url, String secret, RunTls tls, String runnerId, String host, int port, String advertise)
            throws IOException, Refused, Protocol.ProtocolException {
        this.secret = secret;
        this.tls = tls;
        this.runnerId = runnerId;
        this.host = host;
        this.port = port;
        this.advertise = advertise;
        // Jackson's first use costs a good part of the JVM's start-up: it warms up while the hello goes out
        // (written by hand for that reason) and the orchestrator answers.
        Thread warm = new Thread(() -> {
            try {
                Protocol.parseOrchestrator("{\"type\":\"init\"}");
                Main.message("wired").toString();
            } catch (Protocol.ProtocolException e) {
                throw new IllegalStateException(e);
            }
        }, "riffle-warm-up");
        warm.setDaemon(true);
        warm.start();
        this.control = Control.connect(url, tls);
        control.send("{\"type\":\"hello\",\"protocol\":" + Protocol.VERSION + ",\"secret\":" + Json.quote(secret)
                + ",\"runner\":" + Json.quote(runnerId) + ",\"language\":\"java\",\"pid\":"
                + ProcessHandle.current().pid() + "}");
        String answer = control.receive();
        if (answer == null) {
            throw new IOException("the orchestrator closed the connection before welcome");
        }
        JsonNode welcome = Protocol.parseOrchestrator(answer);
        String type = welcome.get("type").asText();
        if (type.equals("refused")) {
            throw new Refused(welcome.get("reason").asText());
        }
        if (!type.equals("welcome")) {
            throw new Protocol.ProtocolException("expected welcome, got " + type);
        }
        if (welcome.get("protocol").asInt() != Protocol.VERSION) {
            throw new Protocol.ProtocolException("the orchestrator speaks protocol " + welcome.get("protocol")
                    + ", this runner " + Protocol.VERSION);
        }
        JsonNode heartbeat = welcome.get("heartbeatMs");
        int heartbeatMillis = heartbeat != null && heartbeat.canConvertToInt() ? heartbeat.asInt() : 0;
        links = new Links(secret, tls, Math.max(0, heartbeatMillis));
        control.readInBackground(heartbeatMillis);
    }

    /** Runs the session to its end; returns the exit code. */
    int run() throws IOException, Protocol.ProtocolException {
        Output.install(this);
        Runtime.getRuntime().addShutdownHook(new Thread(this::onSignal, "riffle-shutdown"));
        timer.scheduleWithFixedDelay(this::sendStatsIfChanged, 250, 250, TimeUnit.MILLISECONDS);
        while (true) {
            String text;
            try {
                text = control.receive();
            } catch (Control.Silent e) {
                Main.ERR.println(Main.NAME + ": " + e.getMessage());
                return 1;
            } catch (IOException e) {
                text = null;
            }
            if (text == null) {
                if (signalled) {
                    return SIGNALLED;
                }
                Main.ERR.println(Main.NAME
                        + ": the orchestrator went away (the control connection closed before stop); exiting");
                return 1;
            }
            JsonNode m = Protocol.parseOrchestrator(text);
            String type = m.get("type").asText();
            switch (type) {
                case "assign":
                    assign(m);
                    break;
                case "connect":
                    connect(m.get("endpoints"));
                    break;
                case "init":
                    init();
                    break;
                case "start":
                    start();
                    break;
                case "stop":
                    stop();
                    return 0;
                default:
                    throw new Protocol.ProtocolException(type + " after welcome");
            }
        }
    }

    void send(ObjectNode m) {
        try {
            control.send(m.toString());
        } catch (IOException e) {
            // The main loop sees the connection go and ends the session.
        }
    }

    void log(String processor, String level, String message) {
        ObjectNode m = Main.message("log");
        m.put("processor", processor);
        m.put("level", level);
        m.put("message", message);
        send(m);
    }

    private void failed(String processor, String phase, String message, String stack) {
        ObjectNode m = Main.message("failed");
        m.put("processor", processor);
        m.put("phase", phase);
        m.put("message", message);
        m.put("stack", stack);
        send(m);
    }

    private void assign(JsonNode m) throws IOException, Protocol.ProtocolException {
        if (wiring != null) {
            throw new Protocol.ProtocolException("a second assign");
        }
        Endpoint endpoint;
        try {
            endpoint = Endpoint.bind(host.isEmpty() ? control.localAddress().getHostAddress() : host, port, links,
                    warning -> log(null, "warn", warning));
        } catch (IOException e) {
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        try {
            wiring = new Wiring(runnerId, endpoint, m.get("processors"), m.get("channels"), stats);
        } catch (RuntimeException e) {
            throw new Protocol.ProtocolException("assign: " + e.getMessage());
        }
        assigned = m.get("processors");
        ObjectNode listening = Main.message("listening");
        listening.put("endpoint", Address.announced(endpoint.localAddress(), advertise, control.localAddress()));
        send(listening);
    }

    private void connect(JsonNode endpoints) throws Protocol.ProtocolException {
        if (wiring == null) {
            throw new Protocol.ProtocolException("connect before assign");
        }
        background("riffle-wiring", () -> {
            try {
                wiring.connect(endpoints, links, this::log);
                send(Main.message("wired"));
            } catch (Wiring.WireFailure f) {
                failed(f.processor, "init", f.getMessage(), null);
            }
        });
    }

    private void init() {
        JsonNode processors = assigned;
        background("riffle-init", () -> {
            List<Ready> built = new ArrayList<>();
            for (JsonNode a : processors) {
                String id = a.get("id").asText();
                Ends ends = wiring != null ? wiring.take(id) : new Ends(id);
                Processor<?> p;
                try {
                    p = Construct.build(a, ends);
                } catch (Construct.BuildException e) {
                    failed(id, "init", e.getMessage(), e.getCause() == null ? null : stack(e.getCause()));
                    return;
                }
                for (String channel : ends.readers.keySet()) {
                    if (!ends.claimed.contains("r " + channel)) {
                        log(null, "warn", "processor " + id + " does not take its reader of channel " + channel);
                    }
                }
                for (String channel : ends.writers.keySet()) {
                    if (!ends.claimed.contains("w " + channel)) {
                        log(null, "warn", "processor " + id + " does not take its writer of channel " + channel);
                    }
                }
                p.attach(new Processor.Context() {
                    private final Log log = new ProcessorLog(Session.this, id);

                    @Override
                    public String id() {
                        return id;
                    }

                    @Override
                    public Log log() {
                        return log;
                    }
                });
                built.add(new Ready(id, p, ends));
            }
            for (Ready r : built) {
                Output.enter(r.id);
                try {
                    r.processor.init();
                } catch (Throwable t) {
                    failed(r.id, "init", describe(t), stack(t));
                    return;
                } finally {
                    Output.leave();
                }
            }
            synchronized (ready) {
                ready.addAll(built);
            }
            send(Main.message("initialised"));
        });
    }

    private void start() {
        List<Ready> all;
        synchronized (ready) {
            all = new ArrayList<>(ready);
            ready.clear();
        }
        for (Ready r : all) {
            boolean transform = overrides(r.processor, "transform");
            boolean produce = overrides(r.processor, "produce");
            Thread[] parts = new Thread[2];
            Throwable[] errors = new Throwable[2];
            Thread reporter = new Thread(() -> {
                for (Thread t : parts) {
                    if (t != null) {
                        try {
                            t.join();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
                if (stopping) {
                    return;
                }
                for (int i = 0; i < 2; i++) {
                    if (errors[i] != null) {
                        // A failed processor's writers stay open until the runner stops, so that no reader
                        // reports a vanished writer before this failure arrives.
                        failed(r.id, i == 0 ? "transform" : "produce", describe(errors[i]), stack(errors[i]));
                        return;
                    }
                }
                for (CountingWriter w : r.ends.writers.values()) {
                    try {
                        w.close();
                    } catch (RuntimeException e) {
                        failed(r.id, transform ? "transform" : "produce", "closing its writers failed: "
                                + e.getMessage(), null);
                        return;
                    }
                }
                ObjectNode m = Main.message("finished");
                m.put("processor", r.id);
                send(m);
            }, "riffle-watch " + r.id);
            reporter.setDaemon(true);
            if (transform || !produce) {
                parts[0] = processorThread(r, "transform", errors, 0, () -> r.processor.transform());
            }
            if (produce) {
                parts[1] = processorThread(r, "produce", errors, 1, () -> r.processor.produce());
            }
            for (Thread t : parts) {
                if (t != null) {
                    t.start();
                }
            }
            reporter.start();
            synchronized (threads) {
                threads.add(reporter);
            }
        }
    }

    private interface Part {
        void run() throws Exception;
    }

    private Thread processorThread(Ready r, String phase, Throwable[] errors, int slot, Part part) {
        Thread t = new Thread(() -> {
            Output.enter(r.id);
            try {
                part.run();
            } catch (Throwable e) {
                errors[slot] = e;
            } finally {
                Output.leave();
            }
        }, "riffle " + phase + " " + r.id);
        t.setDaemon(true);
        synchronized (threads) {
            threads.add(t);
        }
        return t;
    }

    private static boolean overrides(Processor<?> p, String method) {
        for (Class<?> c = p.getClass(); c != Processor.class && c != null; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.getName().equals(method) && m.getParameterCount() == 0) {
                    return true;
                }
            }
        }
        return false;
    }

    static String describe(Throwable t) {
        String message = t.getMessage();
        return message == null ? t.getClass().getName() : t.getClass().getName() + ": " + message;
    }

    static String stack(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString().stripTrailing();
    }

    private void background(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        synchronized (threads) {
            threads.add(t);
        }
        t.start();
    }

    private synchronized void sendStatsIfChanged() {
        if (saidBye) {
            return;
        }
        ObjectNode s = stats.snapshot();
        String text = s.toString();
        if (!text.equals(lastStats) && s.get("ends").size() > 0) {
            lastStats = text;
            send(s);
        }
    }

    /** Cancels what runs, drops channels, sends the last stats and bye. */
    private synchronized void stop() {
        if (saidBye) {
            return;
        }
        stopping = true;
        timer.shutdownNow();
        synchronized (threads) {
            for (Thread t : threads) {
                t.interrupt();
            }
        }
        if (wiring != null) {
            wiring.shutDown();
        }
        send(stats.snapshot());
        send(Main.message("bye"));
        saidBye = true;
        control.close();
    }

    /** SIGTERM or SIGINT: stop on our own, say bye; the JVM then exits with 128 + the signal. */
    private void onSignal() {
        signalled = true;
        stop();
    }
}
