"""What a writer's connection does the same over TCP framing and WebSocket: gather encoded frames into a
batch written when full or when the sending task yields, wait for room above the socket's high-water mark,
and close with the handshake (channels/FRAMING.md). TcpSink and WsSink add the encoding and the replies."""

from __future__ import annotations

import asyncio
import time

from typing import TYPE_CHECKING

from . import frames, keepalive
from .errors import ChannelError

if TYPE_CHECKING:
    from .tls import RunTls

# Above this much unsent data in the socket's buffer, `send` waits (TCP flow control reaches the writer).
HIGH_WATER = 1024 * 1024


async def open_link(address: str, channel: str, tls: RunTls | None, silence_s: float | None
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A writer's connection to a reader's endpoint, TLS with the run's certificate pinned in an encrypted run."""
    from .endpoint import split_address
    from .tls import TlsRefused

    host, port = split_address(address)
    try:
        if tls is None:
            reader, writer = await asyncio.open_connection(host, port, limit=frames.BATCH)
        else:
            reader, writer = await tls.open(host, port, frames.BATCH, frames.HELLO_TIMEOUT_S)
    except TlsRefused as e:
        raise ChannelError(f"channel {channel}: {e}") from None
    keepalive.watch(writer.get_extra_info("socket"), silence_s)
    writer.transport.set_write_buffer_limits(high=HIGH_WATER)
    return reader, writer


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
        except OSError as e:
            raise self._error or self._vanished(e) from None
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
        except OSError as e:
            raise self._error or self._vanished(e) from None
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

    def _vanished(self, cause: BaseException | None = None) -> ChannelError:
        peer = self._writer.get_extra_info("peername")
        why = keepalive.reason(cause, peer[0] if peer else "?") or "connection to it lost"
        return ChannelError(
            f"channel {self._channel}: the reader vanished ({why}) while writer {self._writer_id} was sending"
        )
