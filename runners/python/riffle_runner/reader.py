"""The Reader a processor iterates: every message of its channel, text or bytes, until every writer closed."""

from collections.abc import AsyncIterator

from .inbox import Inbox, Message


class Reader:
    """One processor's end of a channel. Iterate it once, with `messages()` (text as `str`, bytes as `bytes`,
    as they were sent), `strings()` or `buffers()` (converted, UTF-8). Iteration ends when every writer of
    the channel has closed; a writer that vanished raises `ChannelError` after its last whole message."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    @property
    def uri(self) -> str:
        """The channel's id (its IRI)."""
        return self._inbox.channel

    async def read(self) -> Message | None:
        """The next message, or None at the end."""
        return await self._inbox.get()

    async def messages(self) -> AsyncIterator[Message]:
        while (message := await self._inbox.get()) is not None:
            yield message

    async def strings(self) -> AsyncIterator[str]:
        while (message := await self._inbox.get()) is not None:
            yield message if isinstance(message, str) else message.decode("utf-8")

    async def buffers(self) -> AsyncIterator[bytes]:
        while (message := await self._inbox.get()) is not None:
            yield message.encode("utf-8") if isinstance(message, str) else message

    def __aiter__(self) -> AsyncIterator[Message]:
        return self.messages()

    def cancel(self) -> None:
        """Called by the runner when the processor has finished: writers are no longer held back by it."""
        self._inbox.cancel()

    def __repr__(self) -> str:
        return f"Reader({self.uri})"
