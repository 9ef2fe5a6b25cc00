"""The data endpoint: one TCP port for the writers of other runners, TCP framing and WebSocket alike,
told apart by the first byte of each connection (channels/FRAMING.md)."""

import asyncio
import hmac
import json
import logging
import sys
from dataclasses import dataclass, field

from . import frames
from .errors import ChannelError
from .inbox import Inbox, Message

log = logging.getLogger("riffle_runner.endpoint")


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
    def __init__(self, secret: str, max_message: int = frames.DEFAULT_MAX_MESSAGE) -> None:
        self._secret = secret.encode("utf-8")
        self.max_message = max_message
        self._channels: dict[str, Registration] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, channel: str, inboxes: list[Inbox], writers: int) -> None:
        self._channels[channel] = Registration(channel, inboxes, writers)

    async def start(self, listen: str) -> str:
        """Binds `host:port` and returns the address to announce."""
        host, port = split_address(listen)
        self._server = await asyncio.start_server(self._accepted, host, port, limit=frames.BATCH)
        bound = self._server.sockets[0].getsockname()
        announced = "127.0.0.1" if bound[0] in ("0.0.0.0", "") else "::1" if bound[0] == "::" else bound[0]
        return f"[{announced}]:{bound[1]}" if ":" in announced else f"{announced}:{bound[1]}"

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

    def admit(self, hello: Hello) -> Registration | str:
        """The registration the writer feeds, or the reason it is refused."""
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
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            if first == b"\x00":
                await serve_tcp_writer(self, first, reader, writer)
            elif first == b"G":
                await serve_ws_writer(self, first, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
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
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        print(f"riffle-runner-python: invalid address {address!r}; expected host:port", file=sys.stderr)
        raise ValueError(f"invalid address {address!r}: expected host:port")
    return host, int(port)
