"""The processors of `riffle bench python`: a source of COUNT messages of SIZE bytes, and a sink that counts."""

from typing import Any

from riffle_runner import Processor, Reader, Writer


class Source(Processor[Any]):
    writer: Writer
    count: int
    size: int

    async def produce(self) -> None:
        payload = bytes(self.size)
        send = self.writer.buffer
        for _ in range(self.count):
            await send(payload)


class Sink(Processor[Any]):
    reader: Reader

    async def transform(self) -> None:
        messages = size = 0
        async for message in self.reader.buffers():
            messages += 1
            size += len(message)
        self.logger.info(f"{messages} messages, {size} bytes")
