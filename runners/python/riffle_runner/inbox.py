"""The bounded queue of one reader end, fed by memory writers and network connections alike."""

import asyncio
import time
from collections import deque

from .errors import ChannelError
from .stats import Counters

Message = str | bytes

# The other runners' in-memory queue size: room enough to keep a fast pair busy, small enough to bound memory.
CAPACITY = 1024
# Payload bytes queued before writers wait, as the Rust reader bounds each network writer: 1,024 large messages
# would otherwise all fit, and a slow reader would never hold its writers back. One larger message is let
# through when the queue is empty.
BYTE_BUDGET = 1 << 20


class Inbox:
    """Fan-in of a fixed number of writers. It ends when every writer has closed; a writer that vanished
    puts its error after the messages that arrived before it, so nothing accepted is lost."""

    def __init__(self, channel: str, writers: int, counters: Counters, capacity: int = CAPACITY,
                 byte_budget: int = BYTE_BUDGET) -> None:
        self.channel = channel
        self._open = writers
        self._counters = counters
        self._capacity = capacity
        self._byte_budget = byte_budget
        self._items: deque[Message | ChannelError] = deque()
        self._sizes: deque[int] = deque()
        self._queued_bytes = 0
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._cancelled = False

    async def put(self, message: Message, size: int) -> int:
        """Queues a message; waits while the queue is full. Returns the nanoseconds it waited."""
        waited = 0
        if self._full() and not self._cancelled:
            started = time.perf_counter_ns()
            while self._full() and not self._cancelled:
                room = asyncio.get_running_loop().create_future()
                self._putters.append(room)
                try:
                    await room
                except asyncio.CancelledError:
                    if room in self._putters:
                        self._putters.remove(room)
                    raise
            waited = time.perf_counter_ns() - started
        if self._cancelled:
            return waited
        self._items.append(message)
        self._sizes.append(size)
        self._queued_bytes += size
        self._counters.messages += 1
        self._counters.bytes += size
        self._wake_getter()
        return waited

    def writer_closed(self) -> None:
        self._open -= 1
        self._wake_getter()

    def fail(self, error: ChannelError) -> None:
        """Ends the reading side with `error` once every earlier message has been read."""
        self._items.append(error)
        self._wake_getter()

    async def get(self) -> Message | None:
        """The next message, or None when every writer has closed (or the reader was cancelled)."""
        while not self._items:
            if self._open <= 0 or self._cancelled:
                return None
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        item = self._items.popleft()
        if not isinstance(item, ChannelError):
            self._queued_bytes -= self._sizes.popleft()
        while self._putters and not self._full():
            room = self._putters.popleft()
            if not room.done():
                room.set_result(None)
                break
        if isinstance(item, ChannelError):
            self._items.appendleft(item)  # every later read fails alike
            raise item
        return item

    def cancel(self) -> None:
        """The reading processor is gone: drop what is queued and let writers go on without waiting."""
        self._cancelled = True
        self._items.clear()
        self._sizes.clear()
        self._queued_bytes = 0
        while self._putters:
            room = self._putters.popleft()
            if not room.done():
                room.set_result(None)
        self._wake_getter()

    def _full(self) -> bool:
        return len(self._items) >= self._capacity or (bool(self._items) and self._queued_bytes >= self._byte_budget)

    def _wake_getter(self) -> None:
        if self._getter is not None and not self._getter.done():
            self._getter.set_result(None)
