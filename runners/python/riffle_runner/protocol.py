"""Control protocol v1 (docs/protocol.md): which messages exist, their required fields, and their parsing."""

import json
from collections.abc import Callable
from typing import Any

from .errors import ProtocolError

PROTOCOL = 1
PHASES = ("init", "transform", "produce")
LEVELS = ("debug", "info", "warn", "error")
# "file" and "http" are the connector architecture's own channel ends (conn:FileReaderChannel, ...), which the
# plan may assign; this runner refuses them when wiring (wiring.py), not as a protocol error.
TRANSPORTS = ("memory", "tcp", "websocket", "file", "http")

Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return type(v) is int


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _str_or_null(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _one_of(*values: str) -> Check:
    return lambda v: v in values


def _list_of(fields: dict[str, Check]) -> Check:
    return lambda v: isinstance(v, list) and all(_has(item, fields) is None for item in v)


def _has(value: Any, fields: dict[str, Check]) -> str | None:
    """None when `value` is an object with every field valid, else what is wrong."""
    if not isinstance(value, dict):
        return "not a JSON object"
    for name, check in fields.items():
        if name not in value:
            return f"missing field {name!r}"
        if not check(value[name]):
            return f"invalid field {name!r}: {json.dumps(value[name])[:200]}"
    return None


_END = {"processor": _str, "argument": _str, "runner": _str}
_STATS_END = {"channel": _str, "processor": _str, "role": _one_of("reader", "writer"), "messages": _int, "bytes": _int}

FROM_RUNNER: dict[str, dict[str, Check]] = {
    "hello": {"protocol": _int, "secret": _str, "runner": _str, "language": _str, "pid": _int},
    "listening": {"endpoint": _str},
    "wired": {},
    "initialised": {},
    "finished": {"processor": _str},
    "failed": {"processor": _str, "phase": _one_of(*PHASES), "message": _str, "stack": _str_or_null},
    "log": {"processor": _str_or_null, "level": _one_of(*LEVELS), "message": _str},
    "stats": {"ends": _list_of(_STATS_END)},
    "bye": {},
}

FROM_ORCHESTRATOR: dict[str, dict[str, Check]] = {
    "welcome": {"protocol": _int, "run": _str},
    "refused": {"reason": _str},
    "assign": {
        "processors": _list_of(
            {"id": _str, "class": _str, "implementation": lambda v: isinstance(v, dict),
             "arguments": lambda v: isinstance(v, dict)}
        ),
        "channels": _list_of(
            {"id": _str, "transport": _one_of(*TRANSPORTS), "writers": _list_of(_END), "readers": _list_of(_END)}
        ),
    },
    "connect": {"endpoints": lambda v: isinstance(v, dict) and all(isinstance(a, str) for a in v.values())},
    "init": {},
    "start": {},
    "stop": {"reason": _str},
}


def parse(text: str | bytes, schema: dict[str, dict[str, Check]]) -> dict[str, Any]:
    """One control message, checked against `schema` (FROM_RUNNER or FROM_ORCHESTRATOR)."""
    try:
        message = json.loads(text)
    except ValueError as e:
        raise ProtocolError(f"a control message is not JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a control message is not a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in schema:
        raise ProtocolError(f"unknown control message type {json.dumps(kind)}")
    problem = _has(message, schema[kind])
    if problem is not None:
        raise ProtocolError(f"{kind}: {problem}")
    return message


def parse_from_orchestrator(text: str | bytes) -> dict[str, Any]:
    return parse(text, FROM_ORCHESTRATOR)


def parse_from_runner(text: str | bytes) -> dict[str, Any]:
    return parse(text, FROM_RUNNER)


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
