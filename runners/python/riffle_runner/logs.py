"""Processor output as `log` messages: `print` and `logging` inside a processor's tasks are attributed to it."""

import contextvars
import io
import logging
from collections.abc import Callable
from typing import TextIO

# The processor whose code runs now; asyncio tasks inherit it from the task that created them.
current_processor: contextvars.ContextVar[str | None] = contextvars.ContextVar("riffle_processor", default=None)

Emit = Callable[[str | None, str, str], None]  # processor, level, message

_LEVELS = ((logging.ERROR, "error"), (logging.WARNING, "warn"), (logging.INFO, "info"))


def level_of(record: logging.LogRecord) -> str:
    for threshold, name in _LEVELS:
        if record.levelno >= threshold:
            return name
    return "debug"


class ControlLogHandler(logging.Handler):
    """Sends log records as `log` messages, naming the processor whose task logged them."""

    def __init__(self, emit: Emit) -> None:
        super().__init__()
        self._emit = emit
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(current_processor.get(), level_of(record), self.format(record))
        except Exception:
            self.handleError(record)


class ProcessorOutput(io.TextIOBase):
    """Stands for sys.stdout or sys.stderr: a processor's lines become `log` messages, the runner's own
    output goes to the real stream (riffle shows it as `[runner <id>]`)."""

    def __init__(self, real: TextIO, level: str, emit: Emit) -> None:
        self._real = real
        self._level = level
        self._emit = emit
        self._partial: dict[str, str] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        processor = current_processor.get()
        if processor is None:
            return self._real.write(text)
        pending = self._partial.pop(processor, "") + text
        *lines, rest = pending.split("\n")
        for line in lines:
            self._emit(processor, self._level, line)
        if rest:
            self._partial[processor] = rest
        return len(text)

    def flush(self) -> None:
        self._real.flush()

    def flush_processor(self, processor: str) -> None:
        """A processor ended: its last line without a newline is still said."""
        rest = self._partial.pop(processor, "")
        if rest:
            self._emit(processor, self._level, rest)

    def fileno(self) -> int:
        return self._real.fileno()
