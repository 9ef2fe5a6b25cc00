"""Errors a processor or the runner meets on a channel."""


class ChannelError(Exception):
    """A channel could not carry a message: a vanished peer, a refusal, a limit. Names the channel."""


class ProtocolError(Exception):
    """A control message that protocol v1 does not allow (docs/protocol.md)."""
