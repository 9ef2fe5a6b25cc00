"""Where the data endpoint binds and what it is announced as: peers on other hosts must be able to reach
what `listening` says. The Rust runner's address.rs does the same."""

from __future__ import annotations

import re


def listen_address(configured: str | None, control_ip: str) -> str:
    """RIFFLE_DATA_LISTEN (HOST:PORT, a name allowed), else where this runner reached the orchestrator from, port 0."""
    return configured or f"{_bracketed(control_ip)}:0"


def announced(bound: tuple[str, int], advertise: str | None, control_ip: str) -> str:
    """RIFFLE_DATA_ADVERTISE (with the bound port when it names none), else the bound address, where a
    wildcard bind stands for the address this runner reached the orchestrator from."""
    host, port = bound[0], bound[1]
    if advertise:
        return advertise if _has_port(advertise) else f"{_bracketed(advertise)}:{port}"
    return f"{_bracketed(control_ip if host in ('0.0.0.0', '::', '') else host)}:{port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _has_port(text: str) -> bool:
    host, colon, port = text.rpartition(":")
    return bool(colon and host) and (host.endswith("]") or ":" not in host) and re.fullmatch(r"\d{1,5}", port) is not None
