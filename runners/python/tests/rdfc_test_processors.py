"""Processors written for rdfc_runner (RDF-Connect's Python runner), as a PyPI package would ship them: the
session tests install this file and the stand-in rdfc_runner into a pipeline's own virtual environment."""

import asyncio
import logging
import sys
from dataclasses import dataclass

from rdfc_runner import Processor, ProcessorArgs, Reader, Writer

# Labels of the Echo processors whose transform() has started.
STARTED: set[str] = set()


@dataclass
class SendArgs(ProcessorArgs):
    msgs: list[str]
    writer: Writer


class Send(Processor[SendArgs]):
    logger = logging.getLogger("rdfc.Send")

    async def init(self) -> None:
        self.logger.info(f"python {sys.version_info[0]}.{sys.version_info[1]} prefix {sys.prefix}")

    async def transform(self) -> None:
        pass

    async def produce(self) -> None:
        for msg in self.args.msgs:
            await self.args.writer.string(msg)
        if self.args.zeros:
            await self.args.writer.buffer(b"\0" * self.args.zeros)
        await self.args.writer.close()


@dataclass
class EchoArgs(ProcessorArgs):
    reader: Reader
    writer: Writer
    label: str = "echo"


class Echo(Processor[EchoArgs]):
    """rdfc_log_processor's Log, in short: every message logged, and echoed when it has a writer."""

    logger = logging.getLogger("rdfc.Echo")

    async def init(self) -> None:
        await asyncio.sleep(0)  # the transforms of the processors initialised before this one run now
        self.logger.info(f"init {self.args.label}: started {sorted(STARTED)}; "
                         f"rdfc_runner ends {isinstance(self.reader, Reader)} "
                         f"{self.args.writer is None or isinstance(self.writer, Writer)}")

    async def transform(self) -> None:
        STARTED.add(str(self.args.label))
        async for msg in self.args.reader.strings():
            self.logger.info(f"{self.args.label}: {msg!r}")
            if self.args.writer:
                await self.args.writer.string(msg)
        if self.args.writer:
            await self.args.writer.close()
        self.logger.info(f"{self.args.label}: end")

    async def produce(self) -> None:
        pass
