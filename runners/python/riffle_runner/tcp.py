"""Channels over TCP framing (channels/FRAMING.md): the reader side of one connection, and the writer's sink."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from . import frames, keepalive
from .errors import ChannelError
from .inbox import Message
from .sink import BatchingSink, open_link

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .tls import RunTls


async def serve_tcp_writer(
    endpoint: Endpoint, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One writer's connection to this endpoint, from its hello to its CLOSE (or its end)."""

    async def read_hello() -> tuple[int, bytes]:
        rest = await reader.readexactly(frames.HEADER.size - 1)
        length, kind = frames.HEADER.unpack(first + rest)
        if kind != frames.HELLO or length > frames.MAX_CONTROL_PAYLOAD:
            return kind, b""
        return kind, await reader.readexactly(length)

    try:
        kind, payload = await asyncio.wait_for(read_hello(), frames.HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        return
    hello = endpoint.parse_hello(payload) if kind == frames.HELLO else None
    if hello is None:
        return
    admitted = endpoint.admit(hello, writer)
    if isinstance(admitted, str):
        writer.write(frames.frame(frames.REFUSE, admitted.encode("utf-8")))
        await writer.drain()
        return
    registration = admitted
    limit = endpoint.max_message
    accept = json.dumps({"version": 1, "max_message": limit}, separators=(",", ":")).encode("utf-8")
    writer.write(frames.frame(frames.ACCEPT, accept))
    await writer.drain()

    def refuse(reason: str) -> None:
        writer.write(frames.frame(frames.REFUSE, reason.encode("utf-8")))
        registration.failed(ChannelError(reason))

    peer = writer.get_extra_info("peername")[0]
    while True:
        try:
            header = await reader.readexactly(frames.HEADER.size)
        except (asyncio.IncompleteReadError, OSError) as e:
            why = keepalive.reason(e, peer) or "its connection ended without a CLOSE"
            registration.failed(ChannelError(f"channel {hello.channel}: writer {hello.writer} vanished ({why})"))
            return
        length, kind = frames.HEADER.unpack(header)
        if kind == frames.CLOSE:
            # Closed first: everything the writer sent has arrived, and a writer may hang up (over TLS, with its
            # close_notify) as soon as it has the answer, failing the drain.
            registration.closed()
            writer.write(frames.frame(frames.CLOSE))
            with contextlib.suppress(OSError):
                await writer.drain()
            return
        if kind not in (frames.TEXT, frames.BYTES):
            return refuse(f"channel {hello.channel}: writer {hello.writer} sent a frame of unknown kind {kind}")
        if length > limit:
            return refuse(
                f"channel {hello.channel}: writer {hello.writer} sent a message of {length} bytes, "
                f"above the limit of {limit} bytes"
            )
        try:
            payload = await reader.readexactly(length)
        except (asyncio.IncompleteReadError, OSError) as e:
            why = keepalive.reason(e, peer)
            registration.failed(ChannelError(f"channel {hello.channel}: writer {hello.writer} vanished in the "
                                             f"middle of a message{f' ({why})' if why else ''}"))
            return
        message: Message
        if kind == frames.TEXT:
            try:
                message = payload.decode("utf-8")
            except UnicodeDecodeError:
                return refuse(f"channel {hello.channel}: writer {hello.writer} sent a TEXT frame that is not UTF-8")
        else:
            message = payload
        await registration.deliver(message, length)


class TcpSink(BatchingSink):
    """A writer's connection to one reader's runner over TCP framing."""

    def __init__(
        self, channel: str, writer_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int
    ) -> None:
        self._reader = reader
        super().__init__(channel, writer_id, writer, limit)

    @classmethod
    async def connect(cls, address: str, channel: str, writer_id: str, secret: str, tls: RunTls | None = None,
                      silence_s: float | None = None) -> TcpSink:
        """In an encrypted run (`tls`) the hello goes out only once the reader has presented the run's
        certificate; `silence_s` is the run's heartbeat deadline."""
        reader, writer = await open_link(address, channel, tls, silence_s)
        hello = json.dumps({"version": 1, "secret": secret, "channel": channel, "writer": writer_id})
        writer.write(frames.frame(frames.HELLO, hello.encode("utf-8")))
        try:
            await writer.drain()
            header = await asyncio.wait_for(reader.readexactly(frames.HEADER.size), frames.HELLO_TIMEOUT_S)
            length, kind = frames.HEADER.unpack(header)
            if length > frames.MAX_CONTROL_PAYLOAD:
                raise ChannelError(f"channel {channel}: the reader at {address} answered with a {length}-byte frame")
            payload = await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError) as e:
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: the reader at {address} closed the connection without an accept "
                               f"(wrong secret?): {type(e).__name__}") from None
        if kind == frames.REFUSE:
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: the reader at {address} refused writer {writer_id}: "
                               f"{payload.decode('utf-8', 'replace')}")
        accept = json.loads(payload) if kind == frames.ACCEPT else None
        if not isinstance(accept, dict) or type(accept.get("max_message")) is not int:
            writer.transport.abort()
            raise ChannelError(f"channel {channel}: the reader at {address} did not answer with an accept")
        return cls(channel, writer_id, reader, writer, accept["max_message"])

    async def send(self, message: Message, payload: bytes) -> int:
        kind = frames.TEXT if isinstance(message, str) else frames.BYTES
        return await self._queue(frames.HEADER.pack(len(payload), kind), payload)

    def _send_close(self) -> None:
        self._writer.write(frames.frame(frames.CLOSE))

    async def _read_replies(self) -> None:
        """What the reader sends back after the accept: a CLOSE answering ours, or a REFUSE."""
        try:
            header = await self._reader.readexactly(frames.HEADER.size)
            length, kind = frames.HEADER.unpack(header)
            payload = await self._reader.readexactly(min(length, frames.MAX_CONTROL_PAYLOAD))
            if kind == frames.CLOSE and self._closing:
                self._close_ack.set_result(None)
                return
            reason = payload.decode("utf-8", "replace") if kind == frames.REFUSE else f"a frame of kind {kind}"
            self._error = ChannelError(f"channel {self._channel}: the reader dropped writer {self._writer_id}: {reason}")
        except (asyncio.IncompleteReadError, OSError) as e:
            self._error = self._vanished(e)
        if not self._close_ack.done():
            self._close_ack.set_result(None)  # close() then raises the error
        self._writer.transport.abort()
