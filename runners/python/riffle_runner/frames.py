"""The TCP framing of channels/FRAMING.md: a u32 big-endian payload length, a kind byte, the payload."""

import os
import struct
from typing import Final

HELLO: Final = 1
ACCEPT: Final = 2
REFUSE: Final = 3
TEXT: Final = 4
BYTES: Final = 5
CLOSE: Final = 6

HEADER: Final = struct.Struct(">IB")
# Hello, accept and refuse payloads are small JSON or text; a longer one is not a hello.
MAX_CONTROL_PAYLOAD: Final = 65_536
DEFAULT_MAX_MESSAGE: Final = 2_147_483_647
# Writers gather frames up to this size before one write, readers read this much at a time.
BATCH: Final = 256 * 1024


def _hello_timeout_s() -> float:
    try:
        ms = float(os.environ.get("RIFFLE_HELLO_TIMEOUT_MS", ""))
    except ValueError:
        return 10.0
    return ms / 1000 if ms > 0 else 10.0


# A connection that has not completed its hello by then is closed, both ends (RIFFLE_HELLO_TIMEOUT_MS: tests
# shorten it).
HELLO_TIMEOUT_S: Final = _hello_timeout_s()


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), kind) + payload
