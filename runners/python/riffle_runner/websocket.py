"""Channels over WebSocket (channels/FRAMING.md, "WebSocket mapping"), with the Sans-I/O protocol objects of
`websockets` so that the endpoint's one port serves both transports: the reader side of one connection, and
the writer's sink."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from websockets.client import ClientProtocol
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from . import frames, keepalive
from .errors import ChannelError
from .inbox import Message
from .sink import BatchingSink, open_link

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .tls import RunTls

try:
    from websockets.speedups import apply_mask
except ImportError:  # the source install without a C compiler
    from websockets.utils import apply_mask

POLICY_VIOLATION = 1008
NORMAL = 1000


class _InvalidText:
    """A text message whose payload was not UTF-8."""


class Connection:
    """A Sans-I/O protocol object driven over an asyncio stream: bytes in, events out, replies written."""

    def __init__(self, protocol: Protocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.reader = reader
        self.writer = writer
        self.oversized: PayloadTooBig | None = None
        # Why the stream ended early: the socket's error (a keepalive timeout, a reset), else None.
        self.error: OSError | None = None

    def feed(self, data: bytes) -> list[Request | Response | Frame]:
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        events = self.protocol.events_received()
        if isinstance(self.protocol.parser_exc, PayloadTooBig) and self.oversized is None:
            # websockets answers 1009; FRAMING.md asks for 1008, checked from the frame header all the same.
            self.oversized = self.protocol.parser_exc
            self.protocol.data_to_send()
            self.writer.write(Frame(Opcode.CLOSE, Close(POLICY_VIOLATION, "message too big").serialize()).serialize(
                mask=False))
            return events
        self.flush()
        return events

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data and not self.writer.transport.is_closing():
                self.writer.write(data)

    async def events(self) -> AsyncIterator[Request | Response | Frame | None]:
        """Every event, then None at the end of the stream."""
        while True:
            try:
                data = await self.reader.read(frames.BATCH)
            except OSError as e:
                self.error, data = e, b""
            for event in self.feed(data):
                yield event
            if not data or self.oversized is not None:
                yield None
                return

    async def messages(self) -> AsyncIterator[tuple[Message, int] | Close | Response | Request | _InvalidText | None]:
        """Whole messages with their payload size (fragments joined), the close frame, handshake events, and
        None at the end."""
        opcode = None
        parts: list[bytes] = []
        async for event in self.events():
            if not isinstance(event, Frame):
                yield event
                if event is None:
                    return
                continue
            if event.opcode in (Opcode.TEXT, Opcode.BINARY):
                opcode, parts = event.opcode, [event.data]
            elif event.opcode == Opcode.CONT:
                parts.append(event.data)
            elif event.opcode == Opcode.CLOSE:
                yield Close.parse(event.data) if event.data else Close(1005, "")
                continue
            else:
                continue  # ping and pong: the protocol object answers pings itself
            if event.fin:
                data = b"".join(parts) if len(parts) > 1 else parts[0]
                parts = []
                if opcode == Opcode.TEXT:
                    try:
                        yield (data.decode("utf-8"), len(data))
                    except UnicodeDecodeError:
                        yield _InvalidText()
                else:
                    yield (data, len(data))


async def serve_ws_writer(
    endpoint: Endpoint, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One writer's WebSocket connection to this endpoint, from its upgrade to its close (or its end)."""
    # The hello may be longer than a small message limit; the limit applies from the accept on.
    protocol = ServerProtocol(max_size=max(endpoint.max_message, frames.MAX_CONTROL_PAYLOAD))
    connection = Connection(protocol, reader, writer)
    connection.protocol.receive_data(first)
    stream = connection.messages()

    async def handshake() -> object:
        async for event in stream:
            if isinstance(event, Request):
                response = connection.protocol.accept(event)  # type: ignore[attr-defined]
                connection.protocol.send_response(response)  # type: ignore[attr-defined]
                connection.flush()
                if response.status_code != 101:
                    return None
                continue
            return event
        return None

    try:
        hello_message = await asyncio.wait_for(handshake(), frames.HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        return
    is_text = isinstance(hello_message, tuple) and isinstance(hello_message[0], str)
    hello = endpoint.parse_hello(hello_message[0].encode("utf-8")) if is_text else None  # type: ignore[index]
    if hello is None:
        connection.protocol.send_close(POLICY_VIOLATION, "refused")
        connection.flush()
        await writer.drain()
        return
    admitted = endpoint.admit(hello, writer)
    if isinstance(admitted, str):
        connection.protocol.send_close(POLICY_VIOLATION, admitted.encode("utf-8")[:120].decode("utf-8", "ignore"))
        connection.flush()
        await writer.drain()
        return
    registration = admitted
    protocol.max_message_size = endpoint.max_message
    connection.protocol.send_text(
        json.dumps({"version": 1, "max_message": endpoint.max_message}, separators=(",", ":")).encode("utf-8")
    )
    connection.flush()
    who = f"channel {hello.channel}: writer {hello.writer}"
    async for message in stream:
        if isinstance(message, tuple):
            await registration.deliver(*message)
        elif isinstance(message, Close):
            # Settled before the drain of the close reply: a writer may hang up (over TLS, with its close_notify)
            # as soon as it has the reply, failing the drain.
            if message.code == NORMAL:
                registration.closed()
            else:
                registration.failed(ChannelError(f"{who} closed its connection with status {message.code}"))
            with contextlib.suppress(OSError):
                await writer.drain()
            return
        elif isinstance(message, _InvalidText):
            connection.protocol.send_close(POLICY_VIOLATION, "text message is not UTF-8")
            connection.flush()
            registration.failed(ChannelError(f"{who} sent a text message that is not UTF-8"))
            return
        elif message is None:
            if connection.oversized is not None:
                size = connection.oversized.size
                registration.failed(ChannelError(
                    f"{who} sent a message of {size} bytes, above the limit of {endpoint.max_message} bytes"))
            else:
                peer = writer.get_extra_info("peername")[0]
                why = keepalive.reason(connection.error, peer) or "its connection ended without a close frame"
                registration.failed(ChannelError(f"{who} vanished ({why})"))
            return


class MaskPool:
    """Client frames must be masked; one `os.urandom` per 1,024 frames instead of one system call per frame."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self) -> bytes:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096), 0
        self._at += 4
        return self._pool[self._at - 4 : self._at]


def client_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        header = struct.pack(">BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, length)
    return header + mask + apply_mask(payload, mask)


class WsSink(BatchingSink):
    """A writer's WebSocket connection to one reader's runner."""

    def __init__(self, channel: str, writer_id: str, connection: Connection, limit: int) -> None:
        self._connection = connection
        self._masks = MaskPool()
        super().__init__(channel, writer_id, connection.writer, limit)

    @classmethod
    async def connect(cls, address: str, channel: str, writer_id: str, secret: str, tls: RunTls | None = None,
                      silence_s: float | None = None) -> WsSink:
        """In an encrypted run (`tls`) the upgrade and the hello go out only once the reader has presented the
        run's certificate (ws:// inside that TLS: the URI only names the resource); `silence_s` is the run's
        heartbeat deadline."""
        reader, writer = await open_link(address, channel, tls, silence_s)
        protocol = ClientProtocol(parse_uri(f"ws://{address}/"), max_size=frames.MAX_CONTROL_PAYLOAD)
        connection = Connection(protocol, reader, writer)
        protocol.send_request(protocol.connect())
        connection.flush()
        stream = connection.messages()

        async def accept() -> object:
            async for event in stream:
                if isinstance(event, Response):
                    if protocol.handshake_exc is not None:
                        return protocol.handshake_exc
                    hello = {"version": 1, "secret": secret, "channel": channel, "writer": writer_id}
                    protocol.send_text(json.dumps(hello).encode("utf-8"))
                    connection.flush()
                    continue
                return event
            return None

        try:
            answer = await asyncio.wait_for(accept(), frames.HELLO_TIMEOUT_S)
        except (asyncio.TimeoutError, ConnectionError) as e:
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: no accept from the reader at {address}: {type(e).__name__}")
        await stream.aclose()
        if isinstance(answer, Close):
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: the reader at {address} refused writer {writer_id} "
                               f"(status {answer.code}: {answer.reason})")
        text = answer[0] if isinstance(answer, tuple) and isinstance(answer[0], str) else None
        accept_message = json.loads(text) if text is not None else None
        if not isinstance(accept_message, dict) or type(accept_message.get("max_message")) is not int:
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: the reader at {address} did not accept writer {writer_id}: "
                               f"{answer!r}")
        return cls(channel, writer_id, connection, accept_message["max_message"])

    async def send(self, message: Message, payload: bytes) -> int:
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        return await self._queue(b"", client_frame(opcode, payload, self._masks.take()))

    def _send_close(self) -> None:
        self._connection.protocol.send_close(NORMAL)
        self._connection.flush()

    async def _read_replies(self) -> None:
        async for event in self._connection.messages():
            if isinstance(event, Close):
                if self._closing and event.code == NORMAL:
                    self._close_ack.set_result(None)
                    return
                self._error = ChannelError(f"channel {self._channel}: the reader dropped writer {self._writer_id} "
                                           f"(status {event.code}: {event.reason})")
                break
            if event is None:
                self._error = self._vanished(self._connection.error)
                break
        if not self._close_ack.done():
            self._close_ack.set_result(None)  # close() then raises the error
        self._writer.transport.abort()
