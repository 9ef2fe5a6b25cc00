package dev.riffle.runner;

import com.fasterxml.jackson.databind.JsonNode;
import dev.riffle.channels.Endpoint;
import dev.riffle.channels.Inbox;
import dev.riffle.channels.Links;
import dev.riffle.channels.NetWriter;
import dev.riffle.channels.Transport;
import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import dev.riffle.processor.Writer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Turning {@code assign} and {@code connect} into live channel ends (docs/protocol.md, steps 2 and 3), as the
 * Rust runner does:
 *
 * <ul>
 *   <li>At {@code assign}, every channel read here gets its readers: with one local reader, an inbox
 *       registered on the data endpoint (when some writer is remote) expecting every writer of the channel;
 *       with several local readers, one inbox each, fed by local writers in memory and, for remote writers,
 *       by a pump from one endpoint inbox (an endpoint has one reader per channel).
 *   <li>At {@code connect}, every local writer is made: a memory writer into each local reader, a network
 *       writer to each other runner that reads the channel, joined for fan-out.
 * </ul>
 */
final class Wiring {
    /** The writer id of the pump feeding several local readers; real ids are {@code <IRI>#<argument>}. */
    static final String FAN_OUT_ID = "riffle:fan-out";

    final String me;
    final Endpoint endpoint;
    final JsonNode channels;
    final Map<String, List<Inbox>> localReaders = new HashMap<>();
    final Map<String, Ends> ends = new LinkedHashMap<>();
    final Stats stats;

    /** A writer that could not be connected: the init failure of its processor. */
    static final class WireFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final String processor;

        WireFailure(String processor, String message) {
            super(message);
            this.processor = processor;
        }
    }

    Wiring(String me, Endpoint endpoint, JsonNode processors, JsonNode channels, Stats stats) {
        this.me = me;
        this.endpoint = endpoint;
        this.channels = channels;
        this.stats = stats;
        for (JsonNode p : processors) {
            ends.put(p.get("id").asText(), new Ends(p.get("id").asText()));
        }
        for (JsonNode c : channels) {
            String transport = c.get("transport").asText();
            if ("file".equals(transport) || "http".equals(transport)) {
                throw new ChannelException("channel " + c.get("id").asText() + " is a " + transport
                        + " end, which the Java runner does not host");
            }
        }
        for (JsonNode c : channels) {
            makeReaders(c);
        }
    }

    private static boolean networked(JsonNode channel) {
        return !"memory".equals(channel.get("transport").asText());
    }

    private Ends endsOf(String processor) {
        return ends.computeIfAbsent(processor, Ends::new);
    }

    private void makeReaders(JsonNode channel) {
        String id = channel.get("id").asText();
        List<JsonNode> local = new ArrayList<>();
        for (JsonNode r : channel.get("readers")) {
            if (me.equals(r.get("runner").asText())) {
                local.add(r);
            }
        }
        if (local.isEmpty()) {
            return;
        }
        int total = channel.get("writers").size();
        int remote = 0;
        for (JsonNode w : channel.get("writers")) {
            if (!me.equals(w.get("runner").asText()) || networked(channel)) {
                remote++;
            }
        }
        int localWriters = total - remote;
        List<Inbox> inboxes = new ArrayList<>();
        if (local.size() == 1) {
            inboxes.add(remote > 0 ? endpoint.register(id, total) : new Inbox(id, localWriters));
        } else {
            int fed = remote > 0 ? 1 : 0;
            for (int i = 0; i < local.size(); i++) {
                inboxes.add(new Inbox(id, localWriters + fed));
            }
            if (remote > 0) {
                Inbox from = endpoint.register(id, remote);
                List<Writer> to = new ArrayList<>();
                for (Inbox inbox : inboxes) {
                    to.add(inbox.memoryWriter(FAN_OUT_ID));
                }
                Thread pump = new Thread(() -> pump(from, to), "riffle-fan-out " + id);
                pump.setDaemon(true);
                pump.start();
            }
        }
        for (int i = 0; i < local.size(); i++) {
            String processor = local.get(i).get("processor").asText();
            Inbox inbox = inboxes.get(i);
            endsOf(processor).readers.put(id, inbox);
            stats.reader(id, processor, inbox);
        }
        localReaders.put(id, inboxes);
    }

    /** Copies remote writers' messages to every local reader of a channel read more than once here. */
    private static void pump(Inbox from, List<Writer> to) {
        try {
            while (true) {
                Message m;
                try {
                    m = from.receive();
                } catch (ChannelException e) {
                    Main.runnerLog("error", e.getMessage());
                    continue;
                }
                if (m == null) {
                    break;
                }
                for (Writer w : to) {
                    w.send(m);
                }
            }
            for (Writer w : to) {
                w.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ChannelException e) {
            Main.runnerLog("error", "fan-out of channel " + from.channel() + ": " + e.getMessage());
        }
    }

    /** Where a channel's {@code logLevel} sends the messages it logs: processor, level, text. */
    interface ChannelLog {
        void log(String processor, String level, String message);
    }

    /** Makes every local writer: memory lanes and network connections (all connections at once). */
    void connect(JsonNode endpoints, Links links) throws WireFailure {
        connect(endpoints, links, null);
    }

    void connect(JsonNode endpoints, Links links, ChannelLog log) throws WireFailure {
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "riffle-connect");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<CountingWriter>> made = new ArrayList<>();
            List<String[]> who = new ArrayList<>();
            for (JsonNode channel : channels) {
                String id = channel.get("id").asText();
                Transport transport = "websocket".equals(channel.get("transport").asText()) ? Transport.WEBSOCKET
                        : Transport.TCP;
                List<String> remoteRunners = new ArrayList<>();
                for (JsonNode r : channel.get("readers")) {
                    String runner = r.get("runner").asText();
                    if ((!me.equals(runner) || networked(channel)) && !remoteRunners.contains(runner)) {
                        remoteRunners.add(runner);
                    }
                }
                for (JsonNode w : channel.get("writers")) {
                    if (!me.equals(w.get("runner").asText())) {
                        continue;
                    }
                    String processor = w.get("processor").asText();
                    String writerId = processor + "#" + w.get("argument").asText();
                    List<Writer> memory = new ArrayList<>();
                    if (!networked(channel)) {
                        for (Inbox inbox : localReaders.getOrDefault(id, List.of())) {
                            try {
                                memory.add(inbox.memoryWriter(writerId));
                            } catch (ChannelException e) {
                                throw new WireFailure(processor, e.getMessage());
                            }
                        }
                    }
                    List<InetSocketAddress> addrs = new ArrayList<>();
                    List<String> runners = new ArrayList<>();
                    for (String runner : remoteRunners) {
                        JsonNode ep = endpoints.get(runner);
                        if (ep == null || !ep.isTextual()) {
                            throw new WireFailure(processor, "channel " + id + ": connect gave no endpoint for runner "
                                    + runner + ", which reads it");
                        }
                        try {
                            addrs.add(resolve(ep.asText()));
                        } catch (IOException e) {
                            throw new WireFailure(processor, "channel " + id + ": endpoint " + ep.asText()
                                    + " of runner " + runner + ": " + e.getMessage());
                        }
                        runners.add(runner);
                    }
                    // rdfc:logLevel: every message this writer sends is logged as the processor's.
                    JsonNode level = channel.get("logLevel");
                    java.util.function.Consumer<Message> tap = level == null || !level.isTextual() || log == null ? null
                            : m -> log.log(processor, level.asText(), m.isText() ? m.asString() : "<" + m.length() + " bytes>");
                    who.add(new String[] {processor, id});
                    made.add(pool.submit(() -> {
                        List<Writer> sinks = new ArrayList<>(memory);
                        for (int i = 0; i < addrs.size(); i++) {
                            try {
                                sinks.add(NetWriter.connect(transport, addrs.get(i), links, id, writerId,
                                        Endpoint.helloTimeoutMillis()));
                            } catch (ChannelException e) {
                                throw new ChannelException(e.getMessage() + " (runner " + runners.get(i) + ")");
                            }
                        }
                        // No sinks: a channel nobody reads, whose messages are counted and dropped.
                        return new CountingWriter(id, sinks, tap);
                    }));
                }
            }
            for (int i = 0; i < made.size(); i++) {
                String processor = who.get(i)[0];
                String channel = who.get(i)[1];
                CountingWriter writer;
                try {
                    writer = made.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new WireFailure(processor, e.getCause().getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new WireFailure(processor, "interrupted while connecting channel " + channel);
                }
                endsOf(processor).writers.put(channel, writer);
                stats.writer(channel, processor, writer);
            }
        } finally {
            pool.shutdown();
        }
    }

    private static InetSocketAddress resolve(String hostPort) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IOException("not host:port");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            return new InetSocketAddress(java.net.InetAddress.getByName(host),
                    Integer.parseInt(hostPort.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IOException("bad port in " + hostPort);
        }
    }

    /** A processor's ends. */
    Ends take(String processor) {
        Ends e = ends.remove(processor);
        return e != null ? e : new Ends(processor);
    }

    /** Stops everything: readers abandon their queues, writers drop their connections unclosed. */
    void shutDown() {
        endpoint.close();
        for (List<Inbox> inboxes : localReaders.values()) {
            for (Inbox i : inboxes) {
                i.abandon();
            }
        }
    }
}
