"""Counters of every local channel end, reported in `stats` messages (docs/protocol.md)."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counters:
    messages: int = 0
    bytes: int = 0
    blocked_ns: int = 0


@dataclass
class End:
    channel: str
    processor: str
    role: str  # "reader" or "writer"
    counters: Counters = field(default_factory=Counters)


class StatsBoard:
    """Every end of this runner, and what was last reported, so that unchanged figures are not resent."""

    def __init__(self) -> None:
        self._ends: list[End] = []
        self._last: list[tuple[int, int, int]] | None = None

    def register(self, channel: str, processor: str, role: str) -> Counters:
        end = End(channel, processor, role)
        self._ends.append(end)
        return end.counters

    def message(self) -> dict[str, Any]:
        ends: list[dict[str, Any]] = []
        for end in self._ends:
            item: dict[str, Any] = {
                "channel": end.channel,
                "processor": end.processor,
                "role": end.role,
                "messages": end.counters.messages,
                "bytes": end.counters.bytes,
            }
            if end.role == "writer":
                item["blocked_us"] = end.counters.blocked_ns // 1000
            ends.append(item)
        self._last = self._figures()
        return {"type": "stats", "ends": ends}

    def changed(self) -> bool:
        return bool(self._ends) and self._figures() != self._last

    def _figures(self) -> list[tuple[int, int, int]]:
        return [(e.counters.messages, e.counters.bytes, e.counters.blocked_ns) for e in self._ends]
