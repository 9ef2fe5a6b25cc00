"""Encrypted runs (a `wss://` control URL): the run's identity, a self-signed certificate and its key from the
secret file, which every listener of the run presents and every client accepts, and nothing else. The
certificate is its own trust anchor (pinning), so no CA, host name or SNI is involved; a client proves it
belongs to the run with the secret in its hello, which only ever travels inside TLS."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl

CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n([\s\S]*?)-----END CERTIFICATE-----")
PRIVATE_KEY = re.compile(r"-----BEGIN PRIVATE KEY-----\r?\n[\s\S]*?-----END PRIVATE KEY-----")

# The first byte of every TLS connection: a handshake record (the ClientHello).
TLS_HANDSHAKE = 0x16


def is_encrypted(control_url: str) -> bool:
    """Whether a run is encrypted: decided once, by the control URL's scheme."""
    return control_url.startswith("wss://")


class IdentityError(Exception):
    """Why the secret file gives no identity: the words after "RIFFLE_SECRET_FILE (PATH) "."""


def identity_line(what_is_wrong: str) -> str:
    """What a runner started for an encrypted run without its identity says (one stderr line, then exit 1)."""
    return (f"riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but RIFFLE_SECRET_FILE {what_is_wrong}; "
            "start it with the command riffle printed, which names the run's secret file")


def not_the_run_certificate(host: str, port: int) -> str:
    """The words of the error a client gives when the server is not one of the run's."""
    shown = f"[{host}]" if ":" in host else host
    return f"the peer at {shown}:{port} did not present the run's certificate"


def certificate_of(text: str) -> bytes:
    """The DER of the certificate in PEM text (what pinning compares); anything around the blocks (the secret
    on the first line of a secret file) is ignored. Raises IdentityError naming what the text lacks."""
    found = CERTIFICATE.search(text)
    der = base64.b64decode(re.sub(r"\s+", "", found.group(1))) if found is not None else b""
    if not der:
        raise IdentityError("holds no certificate")
    if PRIVATE_KEY.search(text) is None:
        raise IdentityError("holds no private key")
    return der


class TlsRefused(Exception):
    """A connection whose TLS handshake failed or whose peer is not one of the run's."""


class RunTls:
    """The run's identity as TLS: what the data endpoint accepts with and what every client connects with."""

    def __init__(self, path: str, certificate: bytes) -> None:
        """`path` holds the PEM blocks `certificate` was read from. Raises ssl.SSLError when TLS refuses the
        pair (a key of another certificate, a broken block)."""
        self.certificate = certificate
        # Made once per run: a context per connection would cost a key parse each time. OpenSSL reads the
        # PEM blocks of the secret file and skips the secret's line above them.
        self.server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server.load_cert_chain(path)
        # No chain or host-name check: pinning replaces both, checked by `presents_run_certificate` before a
        # byte is written.
        self.client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.client.check_hostname = False
        self.client.verify_mode = ssl.CERT_NONE

    def presents_run_certificate(self, ssl_object: ssl.SSLObject | None) -> bool:
        """Whether the peer presented exactly the run's certificate (the handshake proved it holds the key)."""
        return ssl_object is not None and ssl_object.getpeercert(binary_form=True) == self.certificate

    async def open(self, host: str, port: int, limit: int, timeout: float
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TLS connection to host:port whose peer presented the run's certificate; nothing written on it yet.
        Raises TlsRefused, or OSError when nothing answers at all."""
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=limit, ssl=self.client,
                                                           server_hostname="", ssl_handshake_timeout=timeout)
        except (ssl.SSLError, ConnectionResetError, ConnectionAbortedError, asyncio.TimeoutError) as e:
            raise TlsRefused(f"TLS handshake failed: {e}") from None
        if not self.presents_run_certificate(writer.get_extra_info("ssl_object")):
            writer.transport.abort()
            raise TlsRefused(not_the_run_certificate(host, port))
        return reader, writer
