package dev.riffle.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class AddressTest {
    private static InetSocketAddress at(String ip, int port) throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    @Test
    void theAnnouncedAddressIsReachableFromWhereTheOrchestratorIs() throws UnknownHostException {
        InetAddress control = InetAddress.getByName("10.0.0.7");
        assertEquals("10.0.0.7:4000", Address.announced(at("10.0.0.7", 4000), null, control));
        assertEquals("10.0.0.7:4000", Address.announced(at("0.0.0.0", 4000), null, control));
        assertEquals("10.0.0.7:4000", Address.announced(at("::", 4000), "", control));
        assertEquals("b.lan:4000", Address.announced(at("0.0.0.0", 4000), "b.lan", control));
        assertEquals("b.lan:80", Address.announced(at("0.0.0.0", 4000), "b.lan:80", control));
        assertEquals("[fd00::2]:4000", Address.announced(at("0.0.0.0", 4000), "fd00::2", control));
        assertEquals("[fd00::2]:81", Address.announced(at("0.0.0.0", 4000), "[fd00::2]:81", control));
    }
}
