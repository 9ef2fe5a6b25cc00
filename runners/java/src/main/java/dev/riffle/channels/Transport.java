package dev.riffle.channels;

/** How a writer reaches a reader in another process. Both go to the same endpoint port. */
public enum Transport {
    TCP,
    WEBSOCKET
}
