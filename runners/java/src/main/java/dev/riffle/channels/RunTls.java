package dev.riffle.channels;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * An encrypted run's identity (a {@code wss://} control URL): the self-signed certificate and key from the
 * run's secret file, which every listener of the run presents and every client accepts, and nothing else.
 * The certificate is its own trust anchor (pinning), so no CA, host name or SNI is involved; a client proves
 * it belongs to the run with the secret in its hello, which only ever travels inside TLS.
 */
public final class RunTls {
    private static final Pattern CERTIFICATE =
            Pattern.compile("-----BEGIN CERTIFICATE-----\\r?\\n([\\s\\S]*?)-----END CERTIFICATE-----");
    private static final Pattern PRIVATE_KEY =
            Pattern.compile("-----BEGIN PRIVATE KEY-----\\r?\\n([\\s\\S]*?)-----END PRIVATE KEY-----");
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** Why a secret file gives no identity: the words after "RIFFLE_SECRET_FILE (PATH) ". */
    public static final class IdentityException extends Exception {
        private static final long serialVersionUID = 1L;

        IdentityException(String whatIsWrong) {
            super(whatIsWrong);
        }
    }

    private final byte[] certificate;
    private final SSLSocketFactory sockets;

    private RunTls(byte[] certificate, SSLSocketFactory sockets) {
        this.certificate = certificate;
        this.sockets = sockets;
    }

    /** Whether a run is encrypted: decided once, by the control URL's scheme. */
    public static boolean isEncrypted(String controlUrl) {
        return controlUrl.startsWith("wss://");
    }

    /** What a runner started for an encrypted run without its identity says (one stderr line, then exit 1). */
    public static String identityLine(String whatIsWrong) {
        return "riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE " + whatIsWrong
                + "; start it with the command riffle printed, which names the run's secret file";
    }

    /** The words of the error a client gives when the server is not one of the run's. */
    public static String notTheRunCertificate(String host, int port) {
        return "the peer at " + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port
                + " did not present the run's certificate";
    }

    /**
     * The identity in PEM text (a secret file: anything around the blocks, such as the secret on its first
     * line, is ignored).
     */
    public static RunTls parse(String text) throws IdentityException {
        byte[] der = block(CERTIFICATE, text);
        if (der == null || der.length == 0) {
            throw new IdentityException("holds no certificate");
        }
        byte[] key = block(PRIVATE_KEY, text);
        if (key == null || key.length == 0) {
            throw new IdentityException("holds no private key");
        }
        try {
            Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
            PrivateKey privateKey = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(key));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] none = new char[0];
            store.setKeyEntry("run", privateKey, none, new Certificate[] {cert});
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, none);
            // One context per run: a context per connection would cost a key parse each time.
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), new X509ExtendedTrustManager[] {new AfterHandshake()}, null);
            return new RunTls(der, context.getSocketFactory());
        } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
            throw new IdentityException("holds a certificate and key that TLS refuses: " + e.getMessage());
        }
    }

    private static byte[] block(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        if (!m.find()) {
            return null;
        }
        try {
            return Base64.getMimeDecoder().decode(m.group(1));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The server side of an accepted connection, presenting the run's certificate; no client certificate is
     * asked for. The handshake runs under the socket's read timeout (the hello timeout).
     */
    public SSLSocket accept(Socket raw) throws IOException {
        SSLSocket s = (SSLSocket) sockets.createSocket(raw, null, raw.getPort(), true);
        s.setUseClientMode(false);
        s.setEnabledProtocols(PROTOCOLS);
        try {
            s.startHandshake();
        } catch (java.net.SocketTimeoutException e) {
            throw e;
        } catch (IOException e) {
            throw new IOException("no TLS handshake (this run is encrypted): " + e.getMessage(), e);
        }
        return s;
    }

    /**
     * The client side of a connected socket to {@code host:port}, returned only when the peer presented
     * exactly the run's certificate (the handshake proved it holds the key); nothing has been written on it.
     */
    public SSLSocket connect(Socket raw, String host, int port) throws IOException {
        // No host name: it would go out as SNI, and pinning replaces any check of it.
        SSLSocket s = (SSLSocket) sockets.createSocket(raw, null, port, true);
        s.setUseClientMode(true);
        s.setEnabledProtocols(PROTOCOLS);
        try {
            s.startHandshake();
        } catch (IOException e) {
            NetWriter.closeQuietly(s);
            throw new IOException("TLS handshake failed: " + e.getMessage(), e);
        }
        Certificate[] peer = s.getSession().getPeerCertificates();
        if (peer.length == 0 || !presents(peer[0])) {
            NetWriter.closeQuietly(s);
            throw new IOException(notTheRunCertificate(host, port));
        }
        return s;
    }

    private boolean presents(Certificate leaf) {
        try {
            return Arrays.equals(leaf.getEncoded(), certificate);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Accepts any chain during the handshake: {@link #connect} compares the leaf with the run's afterwards. */
    private static final class AfterHandshake extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
