"""A stand-in for rdfc_runner 1.0.0 (PyPI), which needs Python 3.12 and gRPC: only the parts a processor sees,
written to behave as that version does (its processor.py, types.py and the Reader/Writer interfaces), so the
tests can check how Riffle drives such processors without the package. The real package is exercised by
test_rdfc.RealPackage when RIFFLE_TEST_RDFC_VENV names a virtual environment that has it."""

from .processor import Processor, ProcessorArgs
from .reader import Reader
from .writer import Writer

__all__ = ["Processor", "ProcessorArgs", "Reader", "Writer"]
