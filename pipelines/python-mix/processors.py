"""The Python step of the python-mix example: numbers each line it reads ("1. hello"), keeps a word count,
and logs a summary when its reader has ended."""

from dataclasses import dataclass

from riffle_runner import Processor, Reader, Writer


@dataclass
class NumberArgs:
    reader: Reader
    writer: Writer
    start: int = 1


class Number(Processor[NumberArgs]):
    reader: Reader
    writer: Writer
    start: int

    def __init__(self, args: NumberArgs) -> None:
        super().__init__(args)
        self.words = 0

    async def transform(self) -> None:
        number = self.start
        async for line in self.reader.strings():
            await self.writer.string(f"{number}. {line}")
            self.words += len(line.split())
            number += 1
        await self.writer.close()
        self.logger.info(f"numbered {number - self.start} lines, {self.words} words")
