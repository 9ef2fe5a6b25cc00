"""The data endpoint: one TCP port for the writers of other runners, TCP framing and WebSocket alike,
told apart by the first byte of each connection (channels/FRAMING.md)."""

import asyncio
import hmac
import json
import logging
import socket
import ssl
import sys
from dataclasses import dataclass, field

from . import frames, keepalive
from .errors import ChannelError
from .inbox import Inbox, Message
from .tls import TLS_HANDSHAKE, RunTls

log = logging.getLogger("riffle_runner.endpoint")

# The flood guard, the same in every runner (docs/protocol.md): at most MAX_PENDING connections that have not
# finished their hello. When one more arrives, the oldest that has been silent for SILENCE_S (not one byte) is
# closed to make room; if none has, the endpoint stops accepting until a pending connection settles or turns
# silent long enough, and arrivals wait in the kernel's listen backlog.
MAX_PENDING = 256
LISTEN_BACKLOG = 4096
SILENCE_S = frames.HELLO_TIMEOUT_S / 2


@dataclass(eq=False)
class _Pending:
    """An accepted connection whose hello is not decided yet."""

    sock: socket.socket
    since: float
    spoke: bool = False
    task: "asyncio.Task[None] | None" = None
    writer: asyncio.StreamWriter | None = None


@dataclass
class Registration:
    """A channel read here: the local reader ends that every accepted writer feeds (fan-out inside this
    runner), and how many network writers it takes."""

    channel: str
    inboxes: list[Inbox]
    expected: int
    writer_ids: set[str] = field(default_factory=set)

    async def deliver(self, message: Message, size: int) -> None:
        for inbox in self.inboxes:
            await inbox.put(message, size)

    def closed(self) -> None:
        for inbox in self.inboxes:
            inbox.writer_closed()

    def failed(self, error: ChannelError) -> None:
        for inbox in self.inboxes:
            inbox.fail(error)


@dataclass
class Hello:
    version: int
    channel: str
    writer: str


class Endpoint:
    def __init__(self, secret: str, max_message: int = frames.DEFAULT_MAX_MESSAGE, tls: RunTls | None = None
                 ) -> None:
        self._secret = secret.encode("utf-8")
        self.max_message = max_message
        # The run's identity in an encrypted run, where every connection must be TLS; None in a plaintext one.
        self.tls = tls
        # The run's heartbeat deadline (set at welcome): how long an accepted connection's peer may be silent.
        self.silence_s: float | None = None
        self._channels: dict[str, Registration] = {}
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: list[_Pending] = []
        self._settled = asyncio.Event()
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None

    def register(self, channel: str, inboxes: list[Inbox], writers: int) -> None:
        self._channels[channel] = Registration(channel, inboxes, writers)

    async def start(self, listen: str) -> tuple[str, int]:
        """Binds `host:port` and returns the bound address (see address.announced for what to say)."""
        host, port = split_address(listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        # Thousands of writers may connect at once while the flood guard lets MAX_PENDING at a time through.
        listener.listen(LISTEN_BACKLOG)
        listener.setblocking(False)
        self._listener = listener
        self._accepting = asyncio.create_task(self._accept_loop(listener))
        bound = listener.getsockname()
        return bound[0], bound[1]

    def parse_hello(self, payload: bytes) -> Hello | None:
        """The hello, or None when the payload is not one (or has the wrong secret): closed without a word."""
        try:
            hello = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(hello, dict):
            return None
        secret, channel, writer, version = (hello.get(k) for k in ("secret", "channel", "writer", "version"))
        if not (isinstance(secret, str) and isinstance(channel, str) and isinstance(writer, str)):
            return None
        if type(version) is not int:
            return None
        if not hmac.compare_digest(secret.encode("utf-8"), self._secret):
            log.warning("a connection to the data endpoint gave a wrong secret; closed")
            return None
        return Hello(version, channel, writer)

    def admit(self, hello: Hello, connection: asyncio.StreamWriter) -> Registration | str:
        """The registration the writer feeds, or the reason it is refused."""
        self._settle(next((p for p in self._pending if p.writer is connection), None))
        if hello.version != 1:
            return f"unsupported version {hello.version}: this reader speaks version 1"
        registration = self._channels.get(hello.channel)
        if registration is None:
            return f"no reader of channel {hello.channel} here"
        if hello.writer in registration.writer_ids:
            return f"channel {hello.channel}: writer {hello.writer} is already connected"
        if len(registration.writer_ids) >= registration.expected:
            return f"channel {hello.channel}: more writers than the {registration.expected} expected"
        registration.writer_ids.add(hello.writer)
        return registration

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(listener)
            await self._make_room(loop)
            entry = _Pending(conn, loop.time())
            self._pending.append(entry)
            entry.task = asyncio.create_task(self._serve(entry))

    async def _make_room(self, loop: asyncio.AbstractEventLoop) -> None:
        while len(self._pending) >= MAX_PENDING:
            self._settled.clear()
            wait: float | None = None
            for entry in self._pending:
                if entry.spoke:
                    continue
                if _has_spoken(entry.sock):
                    entry.spoke = True
                    continue
                age = loop.time() - entry.since
                if age < SILENCE_S:
                    wait = SILENCE_S - age
                    break
                log.warning(
                    "closed a silent connection: %d handshakes were pending and a newer one arrived", MAX_PENDING
                )
                self._settle(entry)
                if entry.task is not None:
                    entry.task.cancel()
                return
            try:
                await asyncio.wait_for(self._settled.wait(), wait)
            except asyncio.TimeoutError:
                pass

    def _settle(self, entry: "_Pending | None") -> None:
        if entry is not None and entry in self._pending:
            self._pending.remove(entry)
            self._settled.set()

    def _drop(self, entry: _Pending) -> None:
        """Closes a connection that never got as far as a hello, and frees its place."""
        self._settle(entry)
        entry.sock.close()

    async def _serve(self, entry: _Pending) -> None:
        loop = asyncio.get_running_loop()
        try:
            readable = loop.create_future()
            loop.add_reader(entry.sock.fileno(), lambda: readable.done() or readable.set_result(None))
            try:
                await asyncio.wait_for(readable, frames.HELLO_TIMEOUT_S)
            finally:
                loop.remove_reader(entry.sock.fileno())
            entry.spoke = True
            keepalive.watch(entry.sock, self.silence_s)
            if self.tls is not None and not self._starts_tls(entry.sock):
                return self._drop(entry)
            reader, writer = await self._streams(entry.sock)
        except asyncio.TimeoutError:
            log.warning("refused connection: no hello within %gs", frames.HELLO_TIMEOUT_S)
            return self._drop(entry)
        except (ssl.SSLError, ConnectionError) as e:
            # Only a TLS handshake gets here (a plaintext connection has not been read from yet).
            log.warning("refused connection: TLS handshake failed: %s", e)
            return self._drop(entry)
        except (asyncio.CancelledError, OSError):
            # Closed to make room, or the run is stopping.
            return self._drop(entry)
        entry.writer = writer
        try:
            await self._accepted(reader, writer)
        finally:
            self._settle(entry)

    def _starts_tls(self, sock: socket.socket) -> bool:
        """Whether an accepted connection of an encrypted run opens with a TLS handshake; logs why not."""
        try:
            first = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
        if first and first[0] != TLS_HANDSHAKE:
            log.warning("refused connection: not a TLS handshake (first byte 0x%02x); every connection of this "
                        "encrypted run must be TLS", first[0])
        return first[:1] == bytes([TLS_HANDSHAKE])

    async def _streams(self, sock: socket.socket) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The streams of an accepted connection, after the TLS server handshake in an encrypted run."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=frames.BATCH, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        context = self.tls.server if self.tls is not None else None
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol, sock, ssl=context, ssl_handshake_timeout=frames.HELLO_TIMEOUT_S if context else None)
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from .tcp import serve_tcp_writer
        from .websocket import serve_ws_writer

        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._connections.add(writer)
        try:
            try:
                first = await asyncio.wait_for(reader.readexactly(1), frames.HELLO_TIMEOUT_S)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError):
                return
            if first == b"\x00":
                await serve_tcp_writer(self, first, reader, writer)
            elif first == b"G":
                await serve_ws_writer(self, first, reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The run is stopping. Not re-raised: asyncio would report the cancelled connection task as an error.
            pass
        except Exception:  # a bug here must not take the endpoint down with it
            log.exception("data connection failed")
        finally:
            self._connections.discard(writer)
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.transport.abort()

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        if self._listener is not None:
            self._listener.close()
        for entry in list(self._pending):
            if entry.task is not None:
                entry.task.cancel()
        for connection in list(self._connections):
            connection.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _has_spoken(sock: socket.socket) -> bool:
    """Whether bytes (or an end of stream) wait on the socket, without taking them."""
    try:
        return len(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)) > 0
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        print(f"riffle-runner-python: invalid address {address!r}; expected host:port", file=sys.stderr)
        raise ValueError(f"invalid address {address!r}: expected host:port")
    return host, int(port)
