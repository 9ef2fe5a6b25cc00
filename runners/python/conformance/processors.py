"""The conformance processors (docs/adding-a-runner.md, section 8), which `riffle conformance` runs in this
runner against peers in the Rust runner."""

import asyncio
import json
import os
from typing import Any

from riffle_runner import Processor, Reader, Writer


class Echo(Processor[Any]):
    """Every message it reads, unchanged (text as text, bytes as bytes), in order; closes when its reader ends."""

    reader: Reader
    writer: Writer

    async def transform(self) -> None:
        async for message in self.reader.messages():
            await self.writer.send(message)
        await self.writer.close()


class Slow(Processor[Any]):
    """Echo, waiting `delayMs` ms before it reads each next group of `every` messages (the rest of the
    runner goes on)."""

    reader: Reader
    writer: Writer
    delayMs: int
    every: int = 1

    async def transform(self) -> None:
        while await self._group():
            pass
        await self.writer.close()

    async def _group(self) -> bool:
        """Waits, then forwards up to `every` messages; False once the reader has closed."""
        await asyncio.sleep(self.delayMs / 1000)
        for _ in range(max(1, self.every)):
            message = await self.reader.read()
            if message is None:
                return False
            await self.writer.send(message)
        return True


class Arguments(Processor[Any]):
    """In produce, one text message: the JSON of every argument it received but its writer."""

    writer: Writer

    async def produce(self) -> None:
        received = {name: value for name, value in self.args.items() if name != "writer"}
        await self.writer.string(json.dumps(received, ensure_ascii=False))
        await self.writer.close()


class Fail(Processor[Any]):
    """Raises an ordinary error with `message` in `phase`: init, transform (after its first message),
    close (after its reader closed) or produce."""

    reader: Reader
    phase: str
    message: str

    async def init(self) -> None:
        if self.phase == "init":
            raise RuntimeError(self.message)

    async def transform(self) -> None:
        async for _ in self.reader.messages():
            if self.phase == "transform":
                raise RuntimeError(self.message)
        if self.phase == "close":
            raise RuntimeError(self.message)

    async def produce(self) -> None:
        if self.phase == "produce":
            raise RuntimeError(self.message)


class Crash(Processor[Any]):
    """After its first message, ends the runner process at once with status 70, telling no one."""

    reader: Reader

    async def transform(self) -> None:
        async for _ in self.reader.messages():
            os._exit(70)
