package dev.riffle.channels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.riffle.processor.ChannelException;
import dev.riffle.processor.Message;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Encrypted runs: the run's certificate presented by the endpoint, pinned by writers; keepalive on data links. */
class TlsTest {
    static final Path FIXTURES = Path.of("../../protocol/fixtures/tls");
    static final String SECRET = "0123456789abcdef".repeat(4);

    static RunTls identity(String file) throws Exception {
        return RunTls.parse(Files.readString(FIXTURES.resolve(file)));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void everyMessageCrossesAnEncryptedLinkInOrder(Transport transport) throws Exception {
        Links links = new Links(SECRET, identity("run.secret"), 3_000);
        try (Endpoint ep = Endpoint.bind("127.0.0.1", 0, links, w -> {})) {
            Inbox inbox = ep.register("urn:c:tls", 1);
            NetWriter w = NetWriter.connect(transport, ep.localAddress(), links, "urn:c:tls", "w1", 10_000);
            byte[] large = new byte[300 * 1024];
            for (int i = 0; i < large.length; i++) {
                large[i] = (byte) i;
            }
            Thread sender = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    w.send(Message.text("message " + i));
                }
                w.send(Message.bytes(large));
                w.close();
            });
            sender.start();
            for (int i = 0; i < 10_000; i++) {
                assertEquals("message " + i, inbox.receive().asString());
            }
            assertArrayEquals(large, inbox.receive().asBytes());
            assertNull(inbox.receive());
            sender.join();
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aWriterRefusesAnEndpointWithoutTheRunsCertificateBeforeItsHello(Transport transport) throws Exception {
        LinkedBlockingQueue<String> warnings = new LinkedBlockingQueue<>();
        Links other = new Links(SECRET, identity("other.secret"), 0);
        try (Endpoint ep = Endpoint.bind("127.0.0.1", 0, other, warnings::add)) {
            ep.register("urn:c:tls", 1);
            InetSocketAddress at = ep.localAddress();
            ChannelException refused = assertThrows(ChannelException.class, () -> NetWriter.connect(transport, at,
                    new Links(SECRET, identity("run.secret"), 0), "urn:c:tls", "w1", 10_000));
            assertEquals("channel urn:c:tls: the peer at 127.0.0.1:" + at.getPort()
                    + " did not present the run's certificate", refused.getMessage());
            // The endpoint saw the handshake end and then not one byte: no hello, no secret.
            String warning = warnings.poll(10, TimeUnit.SECONDS);
            assertTrue(warning != null && warning.endsWith(": closed before saying anything"), warning);
        }
    }

    @Test
    void anEncryptedEndpointRefusesAPlaintextWriter() throws Exception {
        LinkedBlockingQueue<String> warnings = new LinkedBlockingQueue<>();
        try (Endpoint ep = Endpoint.bind("127.0.0.1", 0, new Links(SECRET, identity("run.secret"), 0), warnings::add)) {
            ep.register("urn:c:tls", 1);
            assertThrows(ChannelException.class,
                    () -> NetWriter.connect(Transport.TCP, ep.localAddress(), Links.plain(SECRET), "urn:c:tls", "w1", 10_000));
            String warning = warnings.poll(10, TimeUnit.SECONDS);
            assertTrue(warning != null && warning.contains(": no TLS handshake (this run is encrypted): "), warning);
        }
    }

    @Test
    void aSecretFileWithoutTheIdentityIsNamedForWhatItLacks(@org.junit.jupiter.api.io.TempDir Path folder)
            throws Exception {
        String run = Files.readString(FIXTURES.resolve("run.secret"));
        RunTls.IdentityException noCertificate =
                assertThrows(RunTls.IdentityException.class, () -> RunTls.parse(SECRET + "\n"));
        assertEquals("holds no certificate", noCertificate.getMessage());
        String certificateOnly = run.substring(0, run.indexOf("-----BEGIN PRIVATE KEY-----"));
        RunTls.IdentityException noKey =
                assertThrows(RunTls.IdentityException.class, () -> RunTls.parse(certificateOnly));
        assertEquals("holds no private key", noKey.getMessage());
        assertEquals("riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE is not "
                + "set; start it with the command riffle printed, which names the run's secret file",
                RunTls.identityLine("is not set"));
    }

    @Test
    void keepaliveProbesThreeTimesWithinTheDeadline() throws Exception {
        assertEquals(1, Keepalive.interval(3_000));
        assertEquals(1, Keepalive.interval(200));
        assertEquals(4, Keepalive.interval(10_000));
        assertEquals(10, Keepalive.interval(30_000));
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                Socket s = new Socket(server.getInetAddress(), server.getLocalPort())) {
            Keepalive.watch(s, 6_000);
            assertTrue(s.getKeepAlive());
            assertEquals(2, s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE));
            assertEquals(2, s.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL));
            assertEquals(2, s.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
        }
    }

    @Test
    void aTimedOutReadIsTheSilenceOfTheLinkEvenInsideTls() {
        SocketException timedOut = new SocketException("Connection timed out");
        assertTrue(Keepalive.timedOut(timedOut));
        assertTrue(Keepalive.timedOut(new SSLException("Connection timed out", timedOut)));
        assertTrue(!Keepalive.timedOut(new java.net.SocketTimeoutException("Read timed out")));
        assertTrue(!Keepalive.timedOut(new SocketException("Connection reset")));
        assertEquals("the link to 10.0.0.2 went silent: no answer to keepalive probes within the heartbeat deadline "
                + "(Connection timed out)", Keepalive.reason("10.0.0.2"));
    }
}
