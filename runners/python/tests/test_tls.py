"""Encrypted runs: channels inside TLS with the run's certificate pinned (protocol/fixtures/tls), the identity
read from the secret file, and the keepalive that makes a silent link fail."""

import asyncio
import errno
import logging
import os
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from riffle_runner import keepalive
from riffle_runner.endpoint import Endpoint
from riffle_runner.errors import ChannelError
from riffle_runner.inbox import Inbox
from riffle_runner.reader import Reader
from riffle_runner.session import EncryptedRunError, run_tls
from riffle_runner.stats import Counters
from riffle_runner.tcp import TcpSink
from riffle_runner.tls import IdentityError, certificate_of
from riffle_runner.websocket import WsSink
from riffle_runner.writer import Writer

RUNNER = Path(__file__).resolve().parents[1]
TLS_FIXTURES = RUNNER.parents[1] / "protocol" / "fixtures" / "tls"
RUN_SECRET, OTHER_SECRET = TLS_FIXTURES / "run.secret", TLS_FIXTURES / "other.secret"
SECRET = RUN_SECRET.read_text().splitlines()[0]
CHANNEL = "urn:c:tls"
SINKS = {"tcp": TcpSink, "websocket": WsSink}


async def encrypted_endpoint(identity: Path = RUN_SECRET) -> tuple[Endpoint, str, Reader]:
    endpoint = Endpoint(SECRET, tls=run_tls(str(identity)))
    inbox = Inbox(CHANNEL, 1, Counters())
    endpoint.register(CHANNEL, [inbox], 1)
    host, port = await endpoint.start("127.0.0.1:0")
    return endpoint, f"{host}:{port}", Reader(inbox)


class EncryptedChannels(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        asyncio.get_running_loop().slow_callback_duration = 60.0

    async def test_every_message_crosses_an_encrypted_link_in_order(self) -> None:
        tls = run_tls(str(RUN_SECRET))
        large = bytes(range(256)) * 1024
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, reader = await encrypted_endpoint()
                sink = await sink_type.connect(address, CHANNEL, "p#w", SECRET, tls=tls, silence_s=3.0)
                writer = Writer(CHANNEL, "p#w", [sink], Counters())

                async def produce() -> None:
                    for i in range(10_000):
                        await writer.string(f"message {i}")
                    await writer.buffer(large)
                    await writer.close()

                received, _ = await asyncio.gather(self._read_all(reader), produce())
                self.assertEqual(received, [f"message {i}" for i in range(10_000)] + [large])
                await endpoint.close()

    async def test_a_writer_refuses_an_endpoint_without_the_runs_certificate_before_its_hello(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                # The endpoint presents another run's certificate: the writer must not send it the secret.
                endpoint, address, _ = await encrypted_endpoint(OTHER_SECRET)
                with self.assertRaises(ChannelError) as caught:
                    await sink_type.connect(address, CHANNEL, "p#w", SECRET, tls=run_tls(str(RUN_SECRET)))
                port = address.rsplit(":", 1)[1]
                self.assertEqual(str(caught.exception),
                                 f"channel {CHANNEL}: the peer at 127.0.0.1:{port} did not present the run's "
                                 "certificate")
                self.assertEqual(endpoint._channels[CHANNEL].writer_ids, set())
                await endpoint.close()

    async def test_an_encrypted_endpoint_refuses_a_plaintext_writer(self) -> None:
        endpoint, address, reader = await encrypted_endpoint()
        with self.assertLogs("riffle_runner.endpoint", logging.WARNING) as logged:
            with self.assertRaises(ChannelError):
                await TcpSink.connect(address, CHANNEL, "p#w", SECRET)
        self.assertEqual(logged.output, ["WARNING:riffle_runner.endpoint:refused connection: not a TLS handshake "
                                         "(first byte 0x00); every connection of this encrypted run must be TLS"])
        # The run goes on: the writer with the run's identity is admitted.
        sink = await TcpSink.connect(address, CHANNEL, "p#w", SECRET, tls=run_tls(str(RUN_SECRET)))
        writer = Writer(CHANNEL, "p#w", [sink], Counters())
        await writer.string("still here")
        await writer.close()
        self.assertEqual(await self._read_all(reader), ["still here"])
        await endpoint.close()

    async def test_a_plaintext_endpoint_is_a_failed_handshake_for_an_encrypted_writer(self) -> None:
        endpoint = Endpoint(SECRET)
        endpoint.register(CHANNEL, [Inbox(CHANNEL, 1, Counters())], 1)
        host, port = await endpoint.start("127.0.0.1:0")
        with self.assertRaises(ChannelError) as caught:
            await TcpSink.connect(f"{host}:{port}", CHANNEL, "p#w", SECRET, tls=run_tls(str(RUN_SECRET)))
        self.assertTrue(str(caught.exception).startswith(f"channel {CHANNEL}: TLS handshake failed: "),
                        str(caught.exception))
        await endpoint.close()

    @staticmethod
    async def _read_all(reader: Reader) -> list[str | bytes]:
        return [m async for m in reader.messages()]


class Identity(unittest.TestCase):
    def test_a_secret_file_without_the_identity_is_named_for_what_it_lacks(self) -> None:
        text = RUN_SECRET.read_text()
        with self.assertRaises(IdentityError) as caught:
            certificate_of(SECRET + "\n")
        self.assertEqual(str(caught.exception), "holds no certificate")
        certificate_only = text[: text.index("-----BEGIN PRIVATE KEY-----")]
        with self.assertRaises(IdentityError) as caught:
            certificate_of(certificate_only)
        self.assertEqual(str(caught.exception), "holds no private key")
        with self.assertRaises(EncryptedRunError) as caught:
            run_tls(None)
        self.assertEqual(str(caught.exception), "riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but "
                         "RIFFLE_SECRET_FILE is not set; start it with the command riffle printed, which names the "
                         "run's secret file")

    def test_a_key_of_another_certificate_is_refused_by_tls(self) -> None:
        run, other = RUN_SECRET.read_text(), OTHER_SECRET.read_text()
        mixed = run[: run.index("-----BEGIN PRIVATE KEY-----")] + other[other.index("-----BEGIN PRIVATE KEY-----"):]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "mixed.secret"
            path.write_text(mixed)
            with self.assertRaises(EncryptedRunError) as caught:
                run_tls(str(path))
        self.assertIn(f"RIFFLE_SECRET_FILE ({path}) holds a certificate and key that TLS refuses: ",
                      str(caught.exception))

    def test_a_runner_started_for_an_encrypted_run_without_its_identity_says_so_and_exits_1(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIFFLE_")}
        env.update(RIFFLE_CONTROL_URL="wss://127.0.0.1:9/", RIFFLE_SECRET=SECRET, RIFFLE_RUNNER_ID="python")
        done = subprocess.run([sys.executable, "-m", "riffle_runner"], cwd=RUNNER, env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr, "riffle runner: RIFFLE_CONTROL_URL is wss:// (an encrypted run) but "
                         "RIFFLE_SECRET_FILE is not set; start it with the command riffle printed, which names the "
                         "run's secret file\n")


class Keepalive(unittest.TestCase):
    def test_three_intervals_make_the_deadline_in_whole_seconds(self) -> None:
        self.assertEqual([keepalive.interval(s) for s in (3.0, 0.2, 10.0, 30.0)], [1, 1, 4, 10])

    def test_a_watched_socket_carries_the_options(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as server, \
                socket.create_connection(server.getsockname()) as sock:
            keepalive.watch(sock, 6.0)
            self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 1)
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 2)
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), 2)
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), 2)
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), 6000)

    def test_a_timed_out_read_is_the_silence_of_the_link_even_inside_tls(self) -> None:
        timed_out = TimeoutError(errno.ETIMEDOUT, "Connection timed out")
        wrapped = ConnectionError("SSL transport lost")
        wrapped.__cause__ = timed_out
        self.assertTrue(keepalive.timed_out(timed_out))
        self.assertTrue(keepalive.timed_out(wrapped))
        self.assertFalse(keepalive.timed_out(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")))
        self.assertFalse(keepalive.timed_out(None))
        self.assertEqual(keepalive.reason(timed_out, "10.0.0.2"),
                         "the link to 10.0.0.2 went silent: no answer to keepalive probes within the heartbeat "
                         "deadline ([Errno 110] Connection timed out)")


if __name__ == "__main__":
    unittest.main()
