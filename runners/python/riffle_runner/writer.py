"""The Writer a processor sends with: one message to every reader of its channel, in order."""

import asyncio
from typing import Protocol

from .errors import ChannelError
from .inbox import Inbox, Message
from .stats import Counters


YIELD_EVERY = 256


class Sink(Protocol):
    """One reader (in memory) or one connection to a reader's runner."""

    max_message: int

    async def send(self, message: Message, payload: bytes) -> int:
        """Sends one message; returns the nanoseconds it waited for room."""

    async def close(self) -> None:
        """Closes, returning once the reader has seen every earlier message."""

    def abort(self) -> None:
        """Drops the connection at once (the run is stopping)."""


class MemorySink:
    """A reader in this process: the message object itself is queued, no copy, no encoding."""

    max_message = 2**64

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def send(self, message: Message, payload: bytes) -> int:
        return await self._inbox.put(message, len(payload))

    async def close(self) -> None:
        self._inbox.writer_closed()

    def abort(self) -> None:
        pass


class Writer:
    """Send text with `await string(text)`, bytes with `await buffer(data)`, and `await close()` at the end
    (the runner closes a writer its processor left open when the processor finishes)."""

    def __init__(self, channel: str, writer_id: str, sinks: list[Sink], counters: Counters) -> None:
        self._channel = channel
        self._writer_id = writer_id
        self._sinks = sinks
        self._counters = counters
        self._closed = False

    @property
    def uri(self) -> str:
        """The channel's id (its IRI)."""
        return self._channel

    @property
    def closed(self) -> bool:
        return self._closed

    async def string(self, text: str) -> None:
        await self._send(text, text.encode("utf-8"))

    async def buffer(self, data: bytes | bytearray | memoryview) -> None:
        payload = bytes(data)
        await self._send(payload, payload)

    async def send(self, message: Message) -> None:
        """Sends text as text and bytes as bytes."""
        if isinstance(message, str):
            await self.string(message)
        else:
            await self.buffer(message)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sink in self._sinks:
            await sink.close()

    def abort(self) -> None:
        self._closed = True
        for sink in self._sinks:
            sink.abort()

    async def _send(self, message: Message, payload: bytes) -> None:
        if self._closed:
            raise ChannelError(f"channel {self._channel}: writer {self._writer_id} is closed; cannot send")
        size = len(payload)
        for sink in self._sinks:
            if size > sink.max_message:
                raise ChannelError(
                    f"channel {self._channel}: a message of {size} bytes is above the reader's limit of "
                    f"{sink.max_message} bytes"
                )
        waited = 0
        for sink in self._sinks:
            waited += await sink.send(message, payload)
        self._counters.messages += 1
        self._counters.bytes += size
        self._counters.blocked_ns += waited
        if self._counters.messages % YIELD_EVERY == 0:
            # A producer whose readers never push back would otherwise never give the loop a turn, and `stop`
            # or the other processors would wait for it.
            await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"Writer({self._channel})"
