package dev.riffle.runner;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * What the data endpoint is announced as: peers on other hosts must be able to reach what {@code listening}
 * says. The Rust runner's address.rs does the same.
 */
final class Address {
    private Address() {}

    /**
     * RIFFLE_DATA_ADVERTISE (with the bound port when it names none), else the bound address, where a
     * wildcard bind stands for the address this runner reached the orchestrator from.
     */
    static String announced(InetSocketAddress bound, String advertise, InetAddress controlIp) {
        if (advertise != null && !advertise.isEmpty()) {
            return hasPort(advertise) ? advertise : bracketed(advertise) + ":" + bound.getPort();
        }
        InetAddress ip = bound.getAddress().isAnyLocalAddress() ? controlIp : bound.getAddress();
        return bracketed(ip.getHostAddress()) + ":" + bound.getPort();
    }

    private static String bracketed(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    private static boolean hasPort(String text) {
        int at = text.lastIndexOf(':');
        if (at <= 0) {
            return false;
        }
        String host = text.substring(0, at);
        return (host.endsWith("]") || !host.contains(":")) && text.substring(at + 1).matches("\\d{1,5}");
    }
}
