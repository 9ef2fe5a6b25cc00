from abc import ABC, abstractmethod


class Reader(ABC):
    @property
    @abstractmethod
    def uri(self) -> str: ...

    @abstractmethod
    def strings(self): ...

    @abstractmethod
    def buffers(self): ...

    @abstractmethod
    def streams(self): ...

    @abstractmethod
    def anys(self): ...
