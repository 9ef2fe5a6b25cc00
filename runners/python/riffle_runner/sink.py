"""What a writer's connection does the same over TCP framing and WebSocket: gather encoded frames into a
batch written when full or when the sending task yields, wait for room above the socket's high-water mark,
and close with the handshake (channels/FRAMING.md). TcpSink and WsSink add the encoding and the replies."""

from __future__ import annotations

import asyncio
import time

from . import frames
from .errors import ChannelError

# Above this much unsent data in the socket's buffer, `send` waits (TCP flow control reaches the writer).
HIGH_WATER = 1024 * 1024


class BatchingSink:
    def __init__(self, channel: str, writer_id: str, writer: asyncio.StreamWriter, limit: int) -> None:
        self.max_message = limit
        self._channel = channel
        self._writer_id = writer_id
        self._writer = writer
        self._batch = bytearray()
        self._flush_pending = False
        self._error: ChannelError | None = None
        self._closing = False
        self._close_ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies = asyncio.create_task(self._read_replies())

    async def _read_replies(self) -> None:
        """Sets `_error` on a refusal or a vanished reader, resolves `_close_ack` on the close's answer."""
        raise NotImplementedError

    def _send_close(self) -> None:
        """Queues this transport's close (after the batch has been written)."""
        raise NotImplementedError

    async def _queue(self, head: bytes | bytearray, body: bytes | bytearray = b"") -> int:
        """Queues one encoded message (`head` then `body`), then waits while the socket is above its high-water
        mark; returns the nanoseconds waited. A body of a batch or more is written as it is, not copied."""
        if self._error is not None:
            raise self._error
        if len(head) + len(body) >= frames.BATCH:
            self._batch += head
            self._write_batch()
            self._writer.write(body)
        else:
            self._batch += head
            self._batch += body
            if len(self._batch) >= frames.BATCH:
                self._write_batch()
            elif not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._write_batch)
        if self._writer.transport.get_write_buffer_size() <= HIGH_WATER:
            return 0
        started = time.perf_counter_ns()
        try:
            await self._writer.drain()
        except ConnectionError:
            raise self._error or self._vanished() from None
        return time.perf_counter_ns() - started

    async def close(self) -> None:
        if self._error is not None:
            raise self._error
        self._closing = True
        self._write_batch()
        self._send_close()
        try:
            await self._writer.drain()
            await self._close_ack
        except ConnectionError:
            raise self._error or self._vanished() from None
        finally:
            self._writer.transport.abort()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        self._replies.cancel()
        self._writer.transport.abort()

    def _write_batch(self) -> None:
        self._flush_pending = False
        if self._batch and not self._writer.transport.is_closing():
            self._writer.write(self._batch)
        self._batch = bytearray()

    def _vanished(self) -> ChannelError:
        return ChannelError(
            f"channel {self._channel}: the reader vanished (connection to it lost) while writer {self._writer_id} "
            f"was sending"
        )
