"""The Writer a processor sends with: one message to every reader of its channel, in order."""

import asyncio
from collections.abc import AsyncIterable, Callable
from typing import Any, Protocol

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


# processor, level, message: a `log` message (the channel's logLevel).
Emit = Callable[[str | None, str, str], None]


class Writer:
    """Send text with `await string(text)`, bytes with `await buffer(data)`, and `await close()` at the end
    (the runner closes a writer its processor left open when the processor finishes). It also offers what
    rdfc_runner 1.0.0's Writer offers: `stream(chunks, transform)`, `any(obj)`, `close(issued)`.

    A channel with no reader (`"readers": []`) has no sink: every message is counted and dropped."""

    def __init__(self, channel: str, writer_id: str, sinks: list[Sink], counters: Counters,
                 log_level: str | None = None, emit: Emit | None = None, processor: str | None = None) -> None:
        self._channel = channel
        self._writer_id = writer_id
        self._sinks = sinks
        self._counters = counters
        self._closed = False
        self._log_level = log_level if emit is not None else None
        self._emit = emit
        self._processor = processor

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

    async def stream(self, chunks: AsyncIterable[Any], transform: Callable[[Any], bytes] | None = None) -> None:
        """rdfc_runner's stream(): the chunks (bytes, or anything `transform` or `str()` makes bytes of) are
        sent as ONE message, their concatenation, once the iterable ends."""
        convert = transform or (lambda x: x if isinstance(x, (bytes, bytearray, memoryview)) else str(x).encode())
        parts = [bytes(convert(chunk)) async for chunk in chunks]
        await self.buffer(b"".join(parts))

    async def any(self, value: dict[str, Any]) -> None:
        """rdfc_runner's any(): `{"stream": ...}`, `{"buffer": ...}` or `{"string": ...}`."""
        if "stream" in value:
            await self.stream(value["stream"])
        elif "buffer" in value:
            await self.buffer(value["buffer"])
        elif "string" in value:
            await self.string(value["string"])
        else:
            raise ValueError("Unsupported AnyType object")

    async def close(self, issued: bool = False) -> None:
        """Closes the channel end (`issued` is rdfc_runner's parameter and changes nothing here)."""
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
        if self._log_level is not None:
            assert self._emit is not None
            self._emit(self._processor, self._log_level, message if isinstance(message, str) else f"<{size} bytes>")
        if self._counters.messages % YIELD_EVERY == 0:
            # A producer whose readers never push back would otherwise never give the loop a turn, and `stop`
            # or the other processors would wait for it.
            await asyncio.sleep(0)

    # Live ends are shared, never copied: rdfc_runner's Processor runs dataclasses.asdict over its arguments.
    def __copy__(self) -> "Writer":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Writer":
        return self

    def __repr__(self) -> str:
        return f"Writer({self._channel})"
