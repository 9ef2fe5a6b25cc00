"""What a processor is to this runner: the base class users extend, how a class is found from the
`implementation` of `assign`, and how its arguments are bound."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import logging
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlparse

from .reader import Reader
from .writer import Writer

T = TypeVar("T")


class Args(dict[str, Any]):
    """A processor's arguments: a dict whose keys can also be read as attributes (`args.writer`). An argument
    the pipeline did not give reads as None (`args.label`), as rdfc_runner's AttrDict does."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            return None


class Processor(Generic[T]):
    """Base class of a Python processor (RDF-Connect's Python processor shape). The constructor takes the
    arguments (an `Args` dict, or the dataclass the subclass's `__init__` annotates) and sets each as an
    attribute. Override `init`, `transform` (the reading side) and `produce` (the producing side)."""

    args: T
    logger: logging.Logger

    def __init__(self, args: T) -> None:
        self.args = args
        if dataclasses.is_dataclass(args):
            # Not dataclasses.asdict: it would deep-copy the live readers and writers.
            values = {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}
        elif isinstance(args, dict):
            values = args
        else:
            raise TypeError(f"processor arguments must be a dict or a dataclass, not {type(args).__name__}")
        for name, value in values.items():
            setattr(self, name, value)
        self.logger = logging.getLogger(f"riffle.{type(self).__name__}")

    async def init(self) -> None:
        """Runs before any processor starts (open files, connections)."""

    async def transform(self) -> None:
        """Reads the processor's readers."""

    async def produce(self) -> None:
        """Produces messages that do not come from a reader."""


class LoadError(Exception):
    pass


_modules: dict[str, types.ModuleType] = {}


def load_class(processor: str, implementation: dict[str, Any]) -> type:
    """The class named by `implementation`: `class` from the Python file `file` (a file: IRI), or from the
    importable module `modulePath` (RDF-Connect's form). rdfc_runner's own shape names them `module_path` and
    `clazz`; both spellings are read."""
    name = implementation.get("class", implementation.get("clazz"))
    if not isinstance(name, str):
        raise LoadError(f"processor {processor}: its implementation names no class (rdfc:class): {implementation}")
    file = implementation.get("file")
    module_path = implementation.get("modulePath", implementation.get("module_path"))
    _pipeline_folder_importable()
    if isinstance(file, str):
        module, where = _module_from_file(processor, file), file
    elif isinstance(module_path, str):
        try:
            module, where = importlib.import_module(module_path), f"module {module_path}"
        except ImportError as e:
            raise LoadError(f"processor {processor}: cannot import module {module_path}: {e}") from e
    else:
        raise LoadError(
            f"processor {processor}: its implementation has neither rdfc:file nor rdfc:modulePath: {implementation}"
        )
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        defined = sorted(k for k, v in vars(module).items() if isinstance(v, type) and v.__module__ == module.__name__)
        raise LoadError(
            f"processor {processor} needs class \"{name}\", which {where} does not define "
            f"(it defines: {', '.join(defined) or 'no class'})"
        )
    return cls


def _pipeline_folder_importable() -> None:
    """Modules in the pipeline's folder (the working directory) import, as under `python -m rdfc_runner`, right
    after this runner's own folder."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(1, cwd)


_SITE = re.compile(r"/lib/python3\.\d+/")


def venv_path(path: Path) -> Path:
    """A path into a virtual environment written for one minor version (`.venv/lib/python3.13/site-packages/...`)
    that does not exist: the same path with the running interpreter's `lib/python3.X`, if that exists."""
    if path.exists():
        return path
    actual = f"/lib/python{sys.version_info.major}.{sys.version_info.minor}/"
    other = Path(_SITE.sub(lambda _: actual, str(path), count=1))
    return other if other.exists() else path


def _module_from_file(processor: str, iri: str) -> types.ModuleType:
    parsed = urlparse(iri)
    if parsed.scheme != "file":
        raise LoadError(f"processor {processor}: rdfc:file must be a file: IRI, not {iri}")
    path = venv_path(Path(unquote(parsed.path)))
    if str(path) in _modules:
        return _modules[str(path)]
    if not path.is_file():
        raise LoadError(f"processor {processor}: its file {path} does not exist")
    # Siblings of the file can be imported from it, as when it is run as a script.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    unique = "riffle_processors_" + hashlib.sha1(str(path).encode()).hexdigest()[:12] + "_" + path.stem
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"processor {processor}: {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[unique]
        raise
    _modules[str(path)] = module
    return module


def bind(value: Any, live: dict[tuple[str, str], Reader | Writer]) -> Any:
    """Replaces `{"@reader": id}` / `{"@writer": id}` with the live ends, and objects with `Args`."""
    if isinstance(value, dict):
        if len(value) == 1 and ("@reader" in value or "@writer" in value):
            role = "@reader" if "@reader" in value else "@writer"
            end = live.get((role, value[role]))
            if end is None:
                raise LoadError(f"argument {value} names a channel end that assign did not give")
            return end
        return Args({k: bind(v, live) for k, v in value.items()})
    if isinstance(value, list):
        return [bind(v, live) for v in value]
    return value


def rdfc_processor_base(cls: type) -> type | None:
    """rdfc_runner's Processor when `cls` extends it (a processor written for RDF-Connect's Python runner)."""
    for base in cls.__mro__:
        if base.__name__ == "Processor" and base.__module__ in ("rdfc_runner.processor", "rdfc_runner"):
            return base
    return None


def construct(cls: type, args: Args) -> Any:
    """`cls(args)`. A processor of rdfc_runner gets what rdfc_runner 1.0.0 gives it, whatever its annotations
    say: its AttrDict (a dict, missing keys read as None) of the arguments. Riffle's own processors get the
    dataclass `__init__` or `Processor[...]` names, else an Args."""
    if rdfc_processor_base(cls) is not None:
        return cls(_rdfc_args(args))
    hint = _args_hint(cls)
    return cls(_as_dataclass(hint, args) if hint is not None else args)


def _rdfc_args(args: Args) -> dict[str, Any]:
    try:
        import rdfc_runner
        from rdfc_runner.types import AttrDict
    except ImportError:
        AttrDict = Args  # noqa: N806 (the same behaviour)
    else:
        # isinstance(x, rdfc_runner.Reader) holds for Riffle's live ends.
        rdfc_runner.Reader.register(Reader)
        rdfc_runner.Writer.register(Writer)
    # rdfc_runner ignores arguments whose name starts with "@".
    return AttrDict({k: v for k, v in args.items() if not k.startswith("@")})


def _args_hint(cls: type) -> type | None:
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:
        hints = {}
    for name, hint in hints.items():
        if name != "return" and dataclasses.is_dataclass(hint):
            return hint  # type: ignore[return-value]
    # Processor[MyArgs] subclasses: the type parameter.
    for base in getattr(cls, "__orig_bases__", ()):
        for arg in typing.get_args(base):
            if isinstance(arg, type) and dataclasses.is_dataclass(arg):
                return arg
    return None


def _as_dataclass(hint: type, args: Args) -> Any:
    hints = typing.get_type_hints(hint)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(hint):  # type: ignore[arg-type]
        if field.name not in args:
            continue
        value, field_type = args[field.name], hints.get(field.name)
        if isinstance(value, Args) and dataclasses.is_dataclass(field_type):
            value = _as_dataclass(field_type, value)  # type: ignore[arg-type]
        elif isinstance(value, list):
            item_types = [t for t in typing.get_args(field_type) if dataclasses.is_dataclass(t)]
            if item_types:
                value = [_as_dataclass(item_types[0], v) if isinstance(v, Args) else v for v in value]
        values[field.name] = value
    return hint(**values)
