"""One processor from construction to its end (docs/adding-a-runner.md, section 6)."""

import asyncio
import contextvars
import traceback
from collections.abc import Callable
from typing import Any

from .logs import current_processor
from .processor import LoadError, bind, construct, load_class, rdfc_processor_base
from .reader import Reader
from .writer import Writer

Report = Callable[[dict[str, Any]], None]


def failed(processor: str, phase: str, error: BaseException) -> dict[str, Any]:
    if isinstance(error, LoadError):
        return {"type": "failed", "processor": processor, "phase": phase, "message": str(error), "stack": None}
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    stack = "".join(traceback.format_exception(error)).rstrip("\n")
    return {"type": "failed", "processor": processor, "phase": phase, "message": message, "stack": stack}


class Hosted:
    """A processor of this runner: its assignment, its instance once constructed, its live channel ends."""

    def __init__(self, assignment: dict[str, Any]) -> None:
        self.id: str = assignment["id"]
        self._assignment = assignment
        self.ends: dict[tuple[str, str], Reader | Writer] = {}
        self.instance: Any = None
        # rdfc_runner starts a processor's transform() as soon as its init() returned, before `start`;
        # its processors get the same (Riffle's own start both phases at `start`).
        self.early_transform: asyncio.Task[Any] | None = None
        # Whatever runs for this processor (its init, its tasks and theirs) is attributed to it.
        self.context = contextvars.copy_context()
        self.context.run(current_processor.set, self.id)

    async def construct_and_init(self) -> None:
        cls = load_class(self.id, self._assignment["implementation"])
        try:
            args = bind(self._assignment["arguments"], self.ends)
        except LoadError as e:
            raise LoadError(f"processor {self.id}: {e}") from None
        self.instance = construct(cls, args)
        init = getattr(self.instance, "init", None)
        if init is not None:
            await init()
        transform = getattr(self.instance, "transform", None)
        if transform is not None and rdfc_processor_base(cls) is not None:
            self.early_transform = asyncio.create_task(transform())
            # Its failure is reported at `start`; if the run stops before, it is not an unretrieved exception.
            self.early_transform.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def run(self, report: Report) -> None:
        """transform and produce concurrently; `finished` when both returned, `failed` at the first throw."""
        phases: dict[asyncio.Task[Any], str] = {}
        if self.early_transform is not None:
            phases[self.early_transform] = "transform"
        for phase in ("transform", "produce"):
            method = getattr(self.instance, phase, None)
            if method is not None and not (phase == "transform" and self.early_transform is not None):
                phases[asyncio.create_task(method())] = phase
        pending = set(phases)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    error = task.exception()
                    if error is not None:
                        report(failed(self.id, phases[task], error))
                        return
            for end in self.ends.values():
                if isinstance(end, Writer) and not end.closed:
                    try:
                        await end.close()
                    except Exception as e:
                        report(failed(self.id, "produce", e))
                        return
            report({"type": "finished", "processor": self.id})
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            for end in self.ends.values():
                if isinstance(end, Reader):
                    end.cancel()
