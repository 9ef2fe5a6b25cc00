from abc import ABC, abstractmethod
from dataclasses import asdict, is_dataclass
from typing import Any, Dict, Generic, TypeVar

T = TypeVar("T")
ProcessorArgs = Dict[str, Any]


class Processor(Generic[T], ABC):
    args: T

    def __init__(self, args: T):
        self.args = args
        # As 1.0.0 does: a dataclass goes through asdict, which deep-copies every value it does not recurse into.
        if is_dataclass(args):
            args_dict = asdict(args)
        elif isinstance(args, dict):
            args_dict = args
        else:
            raise TypeError("Processor args must be a dict or dataclass")
        for key, value in args_dict.items():
            setattr(self, key, value)

    def get(self, key: str) -> Any:
        if is_dataclass(self.args):
            return getattr(self.args, key)
        return self.args[key]

    @abstractmethod
    async def init(self) -> None: ...

    @abstractmethod
    async def transform(self) -> None: ...

    @abstractmethod
    async def produce(self) -> None: ...
