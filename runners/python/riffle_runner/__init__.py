"""The Riffle runner for Python processors (runners/python/README.md)."""

from .errors import ChannelError
from .processor import Args, Processor
from .reader import Reader
from .writer import Writer

__all__ = ["Args", "ChannelError", "Processor", "Reader", "Writer"]
