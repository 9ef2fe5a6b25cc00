"""Channels against each other: this runner's writers (TcpSink, WsSink, MemorySink) into its own endpoint
and inboxes, over TCP and WebSocket."""

import asyncio
import json
import struct
import unittest

from riffle_runner import frames
from riffle_runner.endpoint import Endpoint
from riffle_runner.errors import ChannelError
from riffle_runner.inbox import Inbox
from riffle_runner.reader import Reader
from riffle_runner.stats import Counters
from riffle_runner.tcp import TcpSink
from riffle_runner.websocket import WsSink
from riffle_runner.writer import MemorySink, Writer

SECRET = "0123456789abcdef" * 4
CHANNEL = "urn:test:channel"
SINKS = {"tcp": TcpSink, "websocket": WsSink}


async def endpoint_reading(writers: int, readers: int = 1, max_message: int = frames.DEFAULT_MAX_MESSAGE
                           ) -> tuple[Endpoint, str, list[Reader], list[Counters]]:
    endpoint = Endpoint(SECRET, max_message)
    counters = [Counters() for _ in range(readers)]
    inboxes = [Inbox(CHANNEL, writers, c) for c in counters]
    endpoint.register(CHANNEL, inboxes, writers)
    host, port = await endpoint.start("127.0.0.1:0")
    return endpoint, f"{host}:{port}", [Reader(i) for i in inboxes], counters


async def read_all(reader: Reader) -> list[str | bytes]:
    return [m async for m in reader.messages()]


class Quiet(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        # The test loop runs in debug mode; 100,000 messages take longer than its slow-callback warning.
        asyncio.get_running_loop().slow_callback_duration = 60.0


class Transports(Quiet):
    async def test_order_over_100000_messages(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], [counters] = await endpoint_reading(1)
                writer_counters = Counters()
                sink = await sink_type.connect(address, CHANNEL, "p#writer", SECRET)
                writer = Writer(CHANNEL, "p#writer", [sink], writer_counters)

                async def produce() -> None:
                    for i in range(100_000):
                        await writer.string(f"message {i}")
                    await writer.close()

                received, _ = await asyncio.gather(read_all(reader), produce())
                self.assertEqual(received, [f"message {i}" for i in range(100_000)])
                size = sum(len(f"message {i}") for i in range(100_000))
                self.assertEqual((counters.messages, counters.bytes), (100_000, size))
                self.assertEqual((writer_counters.messages, writer_counters.bytes), (100_000, size))
                await endpoint.close()

    async def test_text_stays_text_and_bytes_stay_bytes(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1)
                writer = Writer(CHANNEL, "w", [await sink_type.connect(address, CHANNEL, "w", SECRET)], Counters())
                big = bytes(range(256)) * 4096  # 1 MiB: written past the batch, and the reader's whole budget

                async def produce() -> None:
                    await writer.string("h\u00e9llo \u2713")
                    await writer.buffer(b"\x00\xff")
                    await writer.buffer(big)
                    await writer.string("")
                    await writer.close()

                received, _ = await asyncio.gather(read_all(reader), produce())
                self.assertEqual(received, ["h\u00e9llo \u2713", b"\x00\xff", big, ""])
                await endpoint.close()

    async def test_close_ends_the_reader_after_every_message(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1)
                writer = Writer(CHANNEL, "w", [await sink_type.connect(address, CHANNEL, "w", SECRET)], Counters())
                await writer.string("last")
                await writer.close()  # returns once the reader answered the close
                self.assertEqual(await reader.read(), "last")
                self.assertIsNone(await reader.read())
                with self.assertRaises(ChannelError) as caught:
                    await writer.string("after")
                self.assertEqual(str(caught.exception), f"channel {CHANNEL}: writer w is closed; cannot send")
                await endpoint.close()

    async def test_a_channel_closed_without_a_message_ends_its_reader(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1)
                sink = await sink_type.connect(address, CHANNEL, "w", SECRET)
                await sink.close()
                self.assertEqual(await read_all(reader), [])
                await endpoint.close()

    async def test_fan_in_keeps_each_writers_order(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], [counters] = await endpoint_reading(3)
                memory_inbox_writer = Writer(CHANNEL, "m", [MemorySink(reader._inbox)], Counters())
                writers = [memory_inbox_writer] + [
                    Writer(CHANNEL, name, [await sink_type.connect(address, CHANNEL, name, SECRET)], Counters())
                    for name in ("a", "b")
                ]

                async def produce(writer: Writer, name: str) -> None:
                    for i in range(5000):
                        await writer.string(f"{name}{i}")
                    await writer.close()

                received, *_ = await asyncio.gather(
                    read_all(reader), *(produce(w, n) for w, n in zip(writers, ("m", "a", "b")))
                )
                self.assertEqual(len(received), 15_000)
                for name in ("m", "a", "b"):
                    self.assertEqual([m for m in received if m[0] == name], [f"{name}{i}" for i in range(5000)])
                self.assertEqual(counters.messages, 15_000)
                await endpoint.close()

    async def test_fan_out_sends_every_message_to_every_reader(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                # Two reader ends in one endpoint (one connection feeds both) and a second endpoint.
                first, first_address, readers, _ = await endpoint_reading(1, readers=2)
                second, second_address, [other], _ = await endpoint_reading(1)
                sinks = [await sink_type.connect(a, CHANNEL, "w", SECRET) for a in (first_address, second_address)]
                counters = Counters()
                writer = Writer(CHANNEL, "w", sinks, counters)

                async def produce() -> None:
                    for i in range(3000):
                        await writer.send(f"{i}" if i % 2 else f"{i}".encode())
                    await writer.close()

                *received, _ = await asyncio.gather(*(read_all(r) for r in readers + [other]), produce())
                expected = [f"{i}" if i % 2 else f"{i}".encode() for i in range(3000)]
                for got in received:
                    self.assertEqual(got, expected)
                self.assertEqual(counters.messages, 3000)  # one per send, not per reader
                await first.close()
                await second.close()

    async def test_a_vanished_writer_is_an_error_after_its_last_whole_message(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1)
                sink = await sink_type.connect(address, CHANNEL, "p#out", SECRET)
                writer = Writer(CHANNEL, "p#out", [sink], Counters())
                await writer.string("one")
                await writer.string("two")
                sink._write_batch()
                await sink._writer.drain()
                sink.abort()
                self.assertEqual(await reader.read(), "one")
                self.assertEqual(await reader.read(), "two")
                with self.assertRaises(ChannelError) as caught:
                    await reader.read()
                self.assertTrue(str(caught.exception).startswith(f"channel {CHANNEL}: writer p#out vanished"),
                                str(caught.exception))
                await endpoint.close()

    async def test_a_vanished_reader_fails_the_writers_close(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, _, _ = await endpoint_reading(1)
                sink = await sink_type.connect(address, CHANNEL, "w", SECRET)
                await endpoint.close()  # drops every connection
                with self.assertRaises(ChannelError) as caught:
                    await sink.close()
                self.assertIn(f"channel {CHANNEL}:", str(caught.exception))

    async def test_a_wrong_secret_is_closed_without_an_accept(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1)
                with self.assertRaises(ChannelError) as caught:
                    await sink_type.connect(address, CHANNEL, "w", "f" * 64)
                self.assertIn(f"channel {CHANNEL}:", str(caught.exception))
                if transport == "websocket":
                    self.assertIn("status 1008", str(caught.exception))
                # The run goes on: the right writer is still admitted.
                writer = Writer(CHANNEL, "w", [await sink_type.connect(address, CHANNEL, "w", SECRET)], Counters())
                await writer.string("still here")
                await writer.close()
                self.assertEqual(await read_all(reader), ["still here"])
                await endpoint.close()

    async def test_a_wrong_secret_gets_no_byte_over_tcp(self) -> None:
        endpoint, address, _, _ = await endpoint_reading(1)
        host, port = address.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        hello = json.dumps({"version": 1, "secret": "nope", "channel": CHANNEL, "writer": "w"}).encode()
        writer.write(frames.frame(frames.HELLO, hello))
        self.assertEqual(await reader.read(), b"")  # closed without a word
        writer.close()
        await endpoint.close()

    async def test_refusals_name_their_reason(self) -> None:
        endpoint, address, _, _ = await endpoint_reading(1)
        with self.assertRaises(ChannelError) as caught:
            await TcpSink.connect(address, "urn:test:other", "w", SECRET)
        self.assertEqual(str(caught.exception), f"channel urn:test:other: the reader at {address} refused writer w: "
                                                f"no reader of channel urn:test:other here")
        admitted = await TcpSink.connect(address, CHANNEL, "w", SECRET)
        with self.assertRaises(ChannelError) as caught:
            await TcpSink.connect(address, CHANNEL, "w2", SECRET)
        self.assertTrue(str(caught.exception).endswith("more writers than the 1 expected"), str(caught.exception))
        admitted.abort()
        await endpoint.close()

    async def test_limits_are_kept_by_the_writer_and_the_reader(self) -> None:
        for transport, sink_type in SINKS.items():
            with self.subTest(transport=transport):
                endpoint, address, [reader], _ = await endpoint_reading(1, max_message=10)
                sink = await sink_type.connect(address, CHANNEL, "w", SECRET)
                self.assertEqual(sink.max_message, 10)
                writer = Writer(CHANNEL, "w", [sink], Counters())
                with self.assertRaises(ChannelError) as caught:
                    await writer.string("eleven char")
                self.assertEqual(str(caught.exception),
                                 f"channel {CHANNEL}: a message of 11 bytes is above the reader's limit of 10 bytes")
                # A writer that ignores the limit is refused by the reader, from the frame's header.
                sink.max_message = 2**31
                await writer.string("x" * 1000)
                await writer.string("never")
                with self.assertRaises(ChannelError) as caught:
                    await reader.read()
                self.assertIn("sent a message of 1000 bytes, above the limit of 10 bytes", str(caught.exception))
                sink.abort()
                await endpoint.close()

    async def test_a_tcp_text_frame_that_is_not_utf8_is_refused(self) -> None:
        endpoint, address, [reader], _ = await endpoint_reading(1)
        host, port = address.split(":")
        stream, writer = await asyncio.open_connection(host, int(port))
        hello = json.dumps({"version": 1, "secret": SECRET, "channel": CHANNEL, "writer": "w"}).encode()
        writer.write(frames.frame(frames.HELLO, hello) + frames.frame(frames.TEXT, b"\xff\xfe"))
        length, kind = struct.unpack(">IB", await stream.readexactly(5))
        self.assertEqual(kind, frames.ACCEPT)
        await stream.readexactly(length)
        length, kind = struct.unpack(">IB", await stream.readexactly(5))
        self.assertEqual(kind, frames.REFUSE)
        self.assertEqual(await stream.readexactly(length), f"channel {CHANNEL}: writer w sent a TEXT frame that is not UTF-8".encode())
        with self.assertRaises(ChannelError):
            await reader.read()
        writer.close()
        await endpoint.close()


class Memory(Quiet):
    async def test_a_full_queue_holds_the_writer_back_and_loses_nothing(self) -> None:
        counters = Counters()
        inbox = Inbox(CHANNEL, 1, counters, capacity=4)
        writer_counters = Counters()
        writer = Writer(CHANNEL, "w", [MemorySink(inbox)], writer_counters)
        for i in range(4):
            await writer.string(str(i))
        blocked = asyncio.create_task(writer.string("4"))
        await asyncio.sleep(0)  # one turn of the loop: the send could have finished if it did not wait
        self.assertFalse(blocked.done())
        self.assertEqual(await inbox.get(), "0")
        await blocked
        await writer.close()
        self.assertEqual([m async for m in Reader(inbox).messages()], ["1", "2", "3", "4"])
        self.assertEqual(writer_counters.messages, 5)
        self.assertGreater(writer_counters.blocked_ns, 0)

    async def test_queued_bytes_hold_the_writer_back_too(self) -> None:
        inbox = Inbox(CHANNEL, 1, Counters(), capacity=1024, byte_budget=100)
        writer = Writer(CHANNEL, "w", [MemorySink(inbox)], Counters())
        await writer.buffer(b"x" * 150)  # one message above the budget passes into an empty queue
        blocked = asyncio.create_task(writer.buffer(b"y"))
        await asyncio.sleep(0)
        self.assertFalse(blocked.done())
        self.assertEqual(await inbox.get(), b"x" * 150)
        await blocked
        self.assertEqual(await inbox.get(), b"y")

    async def test_a_cancelled_reader_lets_its_writers_go_on(self) -> None:
        inbox = Inbox(CHANNEL, 1, Counters(), capacity=1)
        writer = Writer(CHANNEL, "w", [MemorySink(inbox)], Counters())
        await writer.string("a")
        blocked = asyncio.create_task(writer.string("b"))
        await asyncio.sleep(0)
        Reader(inbox).cancel()
        await blocked
        await writer.close()
        self.assertIsNone(await inbox.get())


if __name__ == "__main__":
    unittest.main()
