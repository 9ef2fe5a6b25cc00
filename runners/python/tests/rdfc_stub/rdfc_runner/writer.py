from abc import ABC, abstractmethod


class Writer(ABC):
    @property
    @abstractmethod
    def uri(self) -> str: ...

    @abstractmethod
    async def string(self, buffer: str): ...

    @abstractmethod
    async def buffer(self, buffer: bytes): ...

    @abstractmethod
    async def stream(self, buffer, transform=None): ...

    @abstractmethod
    async def any(self, any_obj): ...

    @abstractmethod
    async def close(self, issued: bool = False): ...
