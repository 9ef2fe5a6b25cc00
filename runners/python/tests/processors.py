"""Processors for the session tests: a generator and a counter joined by a memory channel."""

from typing import Any

from riffle_runner import Processor, Reader, Writer


class Generator(Processor[Any]):
    writer: Writer
    count: int
    size: int

    async def produce(self) -> None:
        for i in range(self.count):
            await self.writer.string(str(i).rjust(self.size, "."))
        print(f"sent {self.count} messages")


class Counter(Processor[Any]):
    reader: Reader

    async def transform(self) -> None:
        messages = size = 0
        async for message in self.reader.buffers():
            messages += 1
            size += len(message)
        self.logger.info(f"{messages} messages, {size} bytes")


class Forever(Processor[Any]):
    writer: Writer

    async def produce(self) -> None:
        while True:
            await self.writer.string("again")
