package dev.riffle.channels;

/**
 * What every data connection of a run needs besides its address: the run's secret, its TLS identity (null in
 * a plaintext run) and the heartbeat deadline its links fail after when silent (0: no keepalive).
 */
public record Links(String secret, RunTls tls, int silenceMillis) {
    /** A plaintext run without keepalive (the runner's tests, the raw link of benchmarks). */
    public static Links plain(String secret) {
        return new Links(secret, null, 0);
    }
}
