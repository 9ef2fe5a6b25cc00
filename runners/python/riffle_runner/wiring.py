"""The channels of `assign` made live: a Reader per local reader end (registered at the endpoint when writers
come over the network), and at `connect` a Writer per local writer end, joined to every reader."""

import asyncio
from dataclasses import dataclass
from typing import Any

from .endpoint import Endpoint
from .errors import ChannelError
from .inbox import Inbox
from .reader import Reader
from .stats import StatsBoard
from .tcp import TcpSink
from .websocket import WsSink
from .writer import Emit, MemorySink, Sink, Writer

# Channel ends only the JavaScript runner hosts (the connector architecture's file and HTTP channels).
FOREIGN = {"file": "file", "http": "HTTP"}


@dataclass
class WireFailure(Exception):
    processor: str
    message: str


def _networked(channel: dict[str, Any]) -> bool:
    # A channel the plan puts on TCP or WebSocket goes through the endpoint even between processors of this
    # runner, as in the other runners: `riffle run --transport` then tests that transport whatever the layout.
    return channel["transport"] != "memory"


class Wiring:
    def __init__(self, me: str, secret: str, channels: list[dict[str, Any]], endpoint: Endpoint,
                 stats: StatsBoard, emit: Emit | None = None) -> None:
        self._me = me
        self._secret = secret
        # The run's TLS and heartbeat deadline are the endpoint's: the writers' connections get the same.
        self._endpoint = endpoint
        self._emit = emit
        self._inboxes: dict[str, list[Inbox]] = {}
        self._ends: dict[str, dict[tuple[str, str], Reader | Writer]] = {}
        self._writers: list[Writer] = []
        self._stats = stats
        # Refused ends (file, http), reported at connect as a failure of the processor that has them.
        self._refused: list[WireFailure] = []
        self._channels = []
        for channel in channels:
            kind = FOREIGN.get(channel["transport"])
            if kind is not None:
                for end, role in [(e, "writer") for e in channel["writers"]] + [(e, "reader") for e in channel["readers"]]:
                    if end["runner"] == me:
                        self._refused.append(WireFailure(end["processor"], (
                            f"channel {channel['id']}: its {role} end ({end['processor']}#{end['argument']}) is a "
                            f"{kind} channel (the connector architecture's {kind} reader or writer), which only the "
                            f"JavaScript runner hosts; the Python runner has no {kind} channel ends")))
                continue
            self._channels.append(channel)
        for channel in self._channels:
            local = [end for end in channel["readers"] if end["runner"] == me]
            if not local:
                continue
            inboxes = []
            for end in local:
                counters = stats.register(channel["id"], end["processor"], "reader")
                inbox = Inbox(channel["id"], len(channel["writers"]), counters)
                inboxes.append(inbox)
                self._ends.setdefault(end["processor"], {})[("@reader", channel["id"])] = Reader(inbox)
            self._inboxes[channel["id"]] = inboxes
            remote = [w for w in channel["writers"] if w["runner"] != me or _networked(channel)]
            if remote:
                endpoint.register(channel["id"], inboxes, len(remote))

    async def connect(self, endpoints: dict[str, str]) -> None:
        """Connects every local writer to every reader; raises WireFailure naming the writer's processor."""
        if self._refused:
            self.abort()
            raise self._refused[0]
        jobs = []
        for channel in self._channels:
            for end in channel["writers"]:
                if end["runner"] == self._me:
                    jobs.append(self._connect_writer(channel, end, endpoints))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self.abort()
                raise result

    async def _connect_writer(self, channel: dict[str, Any], end: dict[str, Any], endpoints: dict[str, str]) -> None:
        writer_id = f"{end['processor']}#{end['argument']}"
        sinks: list[Sink] = []
        if not _networked(channel):
            sinks.extend(MemorySink(inbox) for inbox in self._inboxes.get(channel["id"], []))
        runners: list[str] = []
        for reader in channel["readers"]:
            if (reader["runner"] != self._me or _networked(channel)) and reader["runner"] not in runners:
                runners.append(reader["runner"])
        sink_type = WsSink if channel["transport"] == "websocket" else TcpSink
        try:
            for runner in runners:
                address = endpoints.get(runner)
                if address is None:
                    raise ChannelError(f"channel {channel['id']}: connect gave no endpoint for runner {runner}, "
                                       f"which reads it")
                sinks.append(await sink_type.connect(address, channel["id"], writer_id, self._secret,
                                                     tls=self._endpoint.tls, silence_s=self._endpoint.silence_s))
        except (ChannelError, OSError) as e:
            for sink in sinks:
                sink.abort()
            raise WireFailure(end["processor"], f"{writer_id}: {e}") from None
        counters = self._stats.register(channel["id"], end["processor"], "writer")
        level = channel.get("logLevel")
        writer = Writer(channel["id"], writer_id, sinks, counters,
                        log_level=level if level in ("debug", "info", "warn", "error") else None,
                        emit=self._emit, processor=end["processor"])
        self._writers.append(writer)
        self._ends.setdefault(end["processor"], {})[("@writer", channel["id"])] = writer

    def ends(self, processor: str) -> dict[tuple[str, str], Reader | Writer]:
        return self._ends.get(processor, {})

    def abort(self) -> None:
        """The run is stopping: connections are dropped and no writer waits for a reader any more."""
        for writer in self._writers:
            writer.abort()
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.cancel()
