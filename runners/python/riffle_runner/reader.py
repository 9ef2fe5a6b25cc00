"""The Reader a processor iterates: every message of its channel, text or bytes, until every writer closed.

It offers what rdfc_runner 1.0.0's Reader offers (`uri`, `strings()`, `buffers()`, `streams()`, `anys()`), with
its semantics: each call of an iterating method is one more consumer, and every consumer sees every message
that arrives after it was made (the first one also sees what arrived before, which rdfc_runner drops). Riffle's
own `messages()` and `read()` are consumers of the same kind."""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from .errors import ChannelError
from .inbox import Inbox, Message

# How far the fastest consumer of one reader may run ahead of the slowest before it waits for it.
LEAD = 1024


class _Cursor:
    __slots__ = ("position",)

    def __init__(self, position: int) -> None:
        self.position = position


class Reader:
    """One processor's end of a channel. Iteration ends when every writer of the channel has closed; a writer
    that vanished raises `ChannelError` after its last whole message."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._buffer: deque[Message] = deque()  # fetched, not yet taken by every consumer
        self._base = 0  # the position of _buffer[0] in the channel's messages
        self._cursors: list[_Cursor] = []
        self._read_cursor: _Cursor | None = None
        self._fetching = False
        self._ended = False
        self._error: ChannelError | None = None
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def uri(self) -> str:
        """The channel's id (its IRI)."""
        return self._inbox.channel

    # --- consumers ---

    def _cursor(self) -> _Cursor:
        if self._read_cursor is not None:
            # read() then iterate: the iterator goes on where read() stopped.
            cursor, self._read_cursor = self._read_cursor, None
            return cursor
        cursor = _Cursor(self._base + len(self._buffer) if self._cursors else self._base)
        self._cursors.append(cursor)
        return cursor

    def _drop(self, cursor: _Cursor) -> None:
        if cursor in self._cursors and cursor is not self._read_cursor:
            self._cursors.remove(cursor)
            self._trim()

    async def _next(self, cursor: _Cursor) -> Message | None:
        if self._buffer or self._fetching or self._ended or self._error is not None or len(self._cursors) != 1:
            return await self._next_shared(cursor)
        # One consumer, nothing buffered: straight from the inbox.
        self._fetching = True
        try:
            item = await self._inbox.get()
        except ChannelError as e:
            self._error = e
            raise
        finally:
            self._fetching = False
            if self._waiters:
                self._notify()
        if item is None:
            self._ended = True
            return None
        if len(self._cursors) == 1:
            self._base += 1
            cursor.position += 1
            return item
        self._buffer.append(item)  # a consumer came while this one waited: it sees this message too
        return await self._next_shared(cursor)

    async def _next_shared(self, cursor: _Cursor) -> Message | None:
        while True:
            index = cursor.position - self._base
            if index < len(self._buffer):
                item = self._buffer[index]
                cursor.position += 1
                self._trim()
                return item
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            if self._fetching or len(self._buffer) >= LEAD:
                await self._wait()
                continue
            self._fetching = True
            try:
                item = await self._inbox.get()
            except ChannelError as e:
                self._error = e
                continue
            finally:
                self._fetching = False
                self._notify()
            if item is None:
                self._ended = True
                continue
            if len(self._cursors) == 1 and not self._buffer:
                self._base += 1
                cursor.position += 1
                return item
            self._buffer.append(item)

    def _trim(self) -> None:
        if not self._cursors:
            return
        lowest = min(c.position for c in self._cursors)
        trimmed = False
        while self._buffer and self._base < lowest:
            self._buffer.popleft()
            self._base += 1
            trimmed = True
        if trimmed:
            self._notify()

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _iterate(self, cursor: _Cursor, convert: Any) -> AsyncIterator[Any]:
        try:
            while (message := await self._next(cursor)) is not None:
                yield convert(message)
        finally:
            self._drop(cursor)

    # --- what processors call ---

    async def read(self) -> Message | None:
        """The next message, or None at the end."""
        if self._read_cursor is None:
            self._read_cursor = self._cursor()
        return await self._next(self._read_cursor)

    def messages(self) -> AsyncIterator[Message]:
        """Messages as they were sent: text as `str`, bytes as `bytes`."""
        return self._iterate(self._cursor(), _same)

    def strings(self) -> AsyncIterator[str]:
        """Text (bytes decoded as UTF-8)."""
        return self._iterate(self._cursor(), _text)

    def buffers(self) -> AsyncIterator[bytes]:
        """Bytes (text encoded as UTF-8)."""
        return self._iterate(self._cursor(), _bytes)

    def streams(self) -> AsyncIterator[AsyncIterator[bytes]]:
        """rdfc_runner's streams(): each message as an async iterator of its bytes (one chunk)."""
        return self._iterate(self._cursor(), _stream)

    def anys(self) -> AsyncIterator[dict[str, Any]]:
        """rdfc_runner's anys(): each message as `{"buffer": bytes}`."""
        return self._iterate(self._cursor(), lambda m: {"buffer": _bytes(m)})

    def __aiter__(self) -> AsyncIterator[Message]:
        return self.messages()

    def cancel(self) -> None:
        """Called by the runner when the processor has finished: writers are no longer held back by it."""
        self._inbox.cancel()

    # Live ends are shared, never copied: rdfc_runner's Processor runs dataclasses.asdict over its arguments.
    def __copy__(self) -> "Reader":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Reader":
        return self

    def __repr__(self) -> str:
        return f"Reader({self.uri})"


def _same(message: Message) -> Message:
    return message


def _text(message: Message) -> str:
    return message if isinstance(message, str) else message.decode("utf-8")


def _bytes(message: Message) -> bytes:
    return message.encode("utf-8") if isinstance(message, str) else message


def _stream(message: Message) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        yield _bytes(message)

    return chunks()
