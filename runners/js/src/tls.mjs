// Encrypted runs (a `wss://` control URL): the run's identity, a self-signed certificate and its key from the
// secret file, which every listener of the run presents and every client accepts, and nothing else. The
// certificate is its own trust anchor (pinning), so no CA, host name or SNI is involved; a client proves it
// belongs to the run with the secret in its hello, which only ever travels inside TLS.

import { createRequire } from "node:module";

// node:tls is loaded only by encrypted runs: a plaintext run starts exactly as before.
const require = createRequire(import.meta.url);

const CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([\s\S]*?)-----END CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN PRIVATE KEY-----\r?\n[\s\S]*?-----END PRIVATE KEY-----/;

/** Whether a run is encrypted: decided once, by the control URL's scheme. */
export const isEncrypted = (controlUrl) => controlUrl.startsWith("wss://");

/** Why the secret file gives no identity: the words after "RIFFLE_SECRET_FILE (PATH) ". */
export class IdentityError extends Error {}

/**
 * The certificate (PEM, and its DER: what pinning compares) and the PKCS#8 key out of PEM text; anything
 * around the blocks (the secret on the first line of a secret file) is ignored.
 */
export function parseIdentity(text) {
  const certificate = CERTIFICATE.exec(text);
  if (certificate === null) throw new IdentityError("holds no certificate");
  const der = Buffer.from(certificate[1].replace(/\s+/g, ""), "base64");
  if (der.length === 0) throw new IdentityError("holds no certificate");
  const key = PRIVATE_KEY.exec(text);
  if (key === null) throw new IdentityError("holds no private key");
  return { certificatePem: `${certificate[0]}\n`, certificate: der, keyPem: `${key[0]}\n` };
}

/** What a runner started for an encrypted run without its identity says (one stderr line, then exit 1). */
export function identityLine(whatIsWrong) {
  return `riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE ${whatIsWrong}; start it with the command riffle printed, which names the run's secret file`;
}

/** The words of the error a client gives when the server is not one of the run's. */
export const notTheRunCertificate = (host, port) => `the peer at ${hostPort(host, port)} did not present the run's certificate`;

const hostPort = (host, port) => `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** The run's identity as TLS: what the data endpoint accepts with and what every client connects with. */
export class RunTls {
  /** @param {{certificatePem: string, certificate: Buffer, keyPem: string}} identity from parseIdentity */
  constructor(identity) {
    this.tls = require("node:tls");
    this.certificate = identity.certificate;
    // Made once per run: a context per connection would cost a key parse each time. Either one throws
    // here when TLS refuses the pair (a key of another certificate, a broken block).
    this.serverContext = this.tls.createSecureContext({ cert: identity.certificatePem, key: identity.keyPem });
    this.clientContext = this.tls.createSecureContext({});
  }

  /** Whether the socket's peer presented exactly the run's certificate (the handshake proved it holds the key). */
  presentsRunCertificate(socket) {
    const peer = socket.getPeerX509Certificate();
    return peer !== undefined && peer.raw.equals(this.certificate);
  }

  /**
   * A TLS client connection to host:port; it is the caller's to check `presentsRunCertificate` on
   * 'secureConnect' before writing. No chain or host-name check: pinning replaces both.
   */
  connect(host, port) {
    return this.tls.connect({ host, port, secureContext: this.clientContext, rejectUnauthorized: false });
  }

  /** Resolves with a TLS connection whose peer presented the run's certificate; nothing has been written on it. */
  connectPinned(host, port) {
    return new Promise((resolve, reject) => {
      const socket = this.connect(host, port);
      const failed = (e) => {
        socket.destroy();
        reject(e);
      };
      const onError = (e) => failed(new Error(`TLS handshake failed: ${e.message}`));
      socket.on("error", onError);
      socket.once("secureConnect", () => {
        if (!this.presentsRunCertificate(socket)) return failed(new Error(notTheRunCertificate(host, port)));
        socket.removeListener("error", onError);
        // Until the caller has put its own listener on (an await later), an error must not go unhandled.
        socket.on("error", () => {});
        resolve(socket);
      });
    });
  }

  /** The server side of an accepted connection, presenting the run's certificate; no client certificate is asked for. */
  accept(socket) {
    return new this.tls.TLSSocket(socket, { isServer: true, secureContext: this.serverContext, requestCert: false });
  }
}
