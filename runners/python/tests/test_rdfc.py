"""RDF-Connect's Python processors (rdfc_runner 1.0.0's Processor) run from the pipeline's own virtual
environment: the launcher, the readers and writers they are given, how they are constructed and driven, and
the plan's channel additions (no writer, no reader, logLevel, file and http ends)."""

import asyncio
import copy
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any

from riffle_runner.inbox import Inbox
from riffle_runner.processor import Args, construct, load_class, venv_path
from riffle_runner.reader import LEAD, Reader
from riffle_runner.stats import Counters
from riffle_runner.writer import MemorySink, Writer

from tests.test_session import RUNNER, SECRET, Fake, fixture

TESTS = Path(__file__).resolve().parent
STUB = TESTS / "rdfc_stub"
C1, C2, C3, C4 = (f"file:///pipe/c{i}" for i in range(1, 5))
SEND, ECHO, LAST, IDLE = (f"file:///pipe/{name}" for name in ("send", "echo", "last", "idle"))


def end(processor: str, argument: str) -> dict[str, str]:
    return {"processor": processor, "argument": argument, "runner": "python"}


def pair(capacity: int = 1024) -> tuple[Writer, Reader, Inbox, Counters]:
    counters = Counters()
    inbox = Inbox("urn:c", 1, Counters(), capacity=capacity)
    return Writer("urn:c", "p#writer", [MemorySink(inbox)], counters), Reader(inbox), inbox, counters


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


class Ends(unittest.IsolatedAsyncioTestCase):
    """Reader and Writer offer what rdfc_runner 1.0.0's offer."""

    async def test_each_iterator_is_one_more_consumer_and_sees_every_message(self) -> None:
        writer, reader, _, _ = pair()
        strings, buffers, anys, streams = reader.strings(), reader.buffers(), reader.anys(), reader.streams()
        sent = asyncio.create_task(self._send(writer, ["a", b"b", "c\u00e9"]))
        got = await asyncio.gather(collect(strings), collect(buffers), collect(anys), collect(streams))
        await sent
        self.assertEqual(got[0], ["a", "b", "c\u00e9"])
        self.assertEqual(got[1], [b"a", b"b", "c\u00e9".encode()])
        self.assertEqual(got[2], [{"buffer": b"a"}, {"buffer": b"b"}, {"buffer": "c\u00e9".encode()}])
        self.assertEqual([await collect(s) for s in got[3]], [[b"a"], [b"b"], ["c\u00e9".encode()]])

    async def test_a_consumer_made_while_another_waits_gets_the_next_message_too(self) -> None:
        writer, reader, _, _ = pair()
        first = reader.strings()
        waiting = asyncio.create_task(first.__anext__())
        for _ in range(5):
            await asyncio.sleep(0)  # the first consumer now waits on the inbox
        second = reader.strings()
        await self._send(writer, ["m"])
        self.assertEqual(await waiting, "m")
        self.assertEqual(await collect(second), ["m"])
        self.assertEqual(await collect(first), [])

    async def test_the_first_consumer_gets_what_arrived_before_it(self) -> None:
        writer, reader, _, _ = pair()
        await self._send(writer, ["early", "late"])
        self.assertEqual(await collect(reader.strings()), ["early", "late"])

    async def test_read_then_iterate_goes_on_where_read_stopped(self) -> None:
        writer, reader, _, _ = pair()
        await self._send(writer, ["1", "2", "3"])
        self.assertEqual(await reader.read(), "1")
        self.assertEqual(await collect(reader.messages()), ["2", "3"])

    async def test_a_fast_consumer_waits_for_a_slow_one_beyond_the_lead(self) -> None:
        writer, reader, _, _ = pair()
        fast, slow = reader.buffers(), reader.buffers()
        sender = asyncio.create_task(self._send(writer, [str(i) for i in range(3000)]))
        fast_got: list[bytes] = []

        async def run_fast() -> None:
            async for message in fast:
                fast_got.append(message)

        fast_task = asyncio.create_task(run_fast())
        for _ in range(200):  # turns of the loop, not time: the fast consumer runs until it must wait
            await asyncio.sleep(0)
        self.assertEqual(len(fast_got), LEAD)
        self.assertEqual(len(await collect(slow)), 3000)
        await fast_task
        self.assertEqual(len(fast_got), 3000)
        await sender

    async def test_a_closed_consumer_holds_nobody_back(self) -> None:
        writer, reader, _, _ = pair()
        fast, slow = reader.buffers(), reader.buffers()
        sender = asyncio.create_task(self._send(writer, [str(i) for i in range(3000)]))
        self.assertEqual(await fast.__anext__(), b"0")
        await fast.aclose()
        self.assertEqual(await collect(slow), [str(i).encode() for i in range(3000)])
        await sender

    async def test_writer_stream_any_and_close_issued(self) -> None:
        writer, reader, _, counters = pair()

        async def chunks() -> Any:
            yield b"ab"
            yield "cd"
            yield 5

        await writer.stream(chunks())
        await writer.stream(chunks(), transform=lambda x: b"<" + str(x).encode() + b">")
        await writer.any({"string": "s"})
        await writer.any({"buffer": b"b"})
        await writer.close(True)
        self.assertEqual(await collect(reader.messages()), [b"abcd5", b"<b'ab'><cd><5>", "s", b"b"])
        self.assertEqual((counters.messages, counters.bytes), (4, 5 + 14 + 1 + 1))
        with self.assertRaises(ValueError):
            await writer.any({"nothing": 1})

    async def test_live_ends_survive_deepcopy_and_asdict(self) -> None:
        writer, reader, _, _ = pair()

        @dataclasses.dataclass
        class Arguments:
            reader: Reader
            writers: list[Writer]
            label: str = "x"

        arguments = Arguments(reader, [writer])
        as_dict = dataclasses.asdict(arguments)
        self.assertIs(as_dict["reader"], reader)
        self.assertIs(as_dict["writers"][0], writer)
        self.assertIs(copy.deepcopy(reader), reader)
        self.assertIs(copy.copy(writer), writer)

    async def test_a_channel_without_writers_ends_at_once(self) -> None:
        reader = Reader(Inbox("urn:c", 0, Counters()))
        self.assertEqual(await collect(reader.strings()), [])
        self.assertIsNone(await reader.read())

    async def test_a_channel_without_readers_counts_and_drops(self) -> None:
        counters = Counters()
        writer = Writer("urn:c", "p#writer", [], counters)
        for _ in range(5000):  # never blocks
            await writer.string("abc")
        await writer.buffer(b"\0\0")
        await writer.close()
        self.assertEqual((counters.messages, counters.bytes), (5001, 15002))

    async def test_log_level_logs_every_payload_as_the_writing_processor(self) -> None:
        logged: list[tuple[str | None, str, str]] = []
        writer = Writer("urn:c", "urn:p#writer", [], Counters(), log_level="warn",
                        emit=lambda *line: logged.append(line), processor="urn:p")
        await writer.string("h\u00e9")
        await writer.buffer(b"\1\2\3")
        await writer.send("")
        self.assertEqual(logged, [("urn:p", "warn", "h\u00e9"), ("urn:p", "warn", "<3 bytes>"), ("urn:p", "warn", "")])

    @staticmethod
    async def _send(writer: Writer, messages: list[str | bytes]) -> None:
        for message in messages:
            await writer.send(message)
        await writer.close()


class Construction(unittest.TestCase):
    """How classes are found and constructed."""

    def setUp(self) -> None:
        sys.path.insert(0, str(STUB))
        self.addCleanup(sys.path.remove, str(STUB))
        for name in [m for m in sys.modules if m.startswith("rdfc_runner")]:
            del sys.modules[name]

    def test_rdfc_processors_get_an_attrdict_where_absent_arguments_read_as_none(self) -> None:
        sys.path.insert(0, str(TESTS))
        self.addCleanup(sys.path.remove, str(TESTS))
        cls = load_class("urn:p", {"module_path": "rdfc_test_processors", "clazz": "Echo"})
        reader = Reader(Inbox("urn:c", 0, Counters()))
        instance = construct(cls, Args({"reader": reader, "@context": "ignored"}))
        from rdfc_runner.types import AttrDict
        self.assertIs(type(instance.args), AttrDict)
        self.assertEqual(dict(instance.args), {"reader": reader})
        self.assertIs(instance.reader, reader)
        self.assertIsNone(instance.args.writer)
        self.assertIsNone(instance.args.label)  # as rdfc_runner: the dataclass default is not applied
        import rdfc_runner
        self.assertIsInstance(reader, rdfc_runner.Reader)

    def test_riffle_args_read_absent_arguments_as_none(self) -> None:
        args = Args({"a": 1})
        self.assertEqual((args.a, args.b), (1, None))
        self.assertFalse(hasattr(args, "__wrapped__"))

    def test_a_venv_path_of_another_minor_version_resolves_to_this_one(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
            actual = Path(folder, ".venv", "lib", minor, "site-packages", "pkg", "proc.py")
            actual.parent.mkdir(parents=True)
            actual.write_text("class P:\n    pass\n")
            written = Path(folder, ".venv", "lib", "python3.99", "site-packages", "pkg", "proc.py")
            self.assertEqual(venv_path(written), actual)
            self.assertEqual(venv_path(actual), actual)
            missing = Path(folder, ".venv", "lib", "python3.99", "site-packages", "pkg", "other.py")
            self.assertEqual(venv_path(missing), missing)
            cls = load_class("urn:p", {"file": written.as_uri(), "class": "P"})
            self.assertEqual(cls.__name__, "P")


def interpreters() -> list[str]:
    """Python 3.11 (this one's base) and whatever RIFFLE_TEST_PYTHONS (':'-separated) or PATH has of 3.12, 3.13."""
    found = [getattr(sys, "_base_executable", sys.executable)]
    candidates = [p for p in os.environ.get("RIFFLE_TEST_PYTHONS", "").split(":") if p]
    candidates += [p for p in (shutil.which(f"python3.{n}") for n in (12, 13)) if p]
    versions = {sys.version_info[:2]}
    for candidate in candidates:
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                                 text=True, timeout=30)
        except OSError:
            continue
        if out.returncode == 0 and tuple(map(int, out.stdout.split())) not in versions:
            versions.add(tuple(map(int, out.stdout.split())))
            found.append(candidate)
    return found


def make_venv(where: Path, python: str, with_stub: bool = True) -> tuple[Path, str]:
    """A pipeline's virtual environment (no pip, nothing downloaded), with the stand-in rdfc_runner and the
    test processors in its site-packages; returns it and its lib/pythonX.Y."""
    venv = where / ".venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    lib = next((venv / "lib").glob("python3.*")).name
    site = venv / "lib" / lib / "site-packages"
    if with_stub:
        shutil.copytree(STUB / "rdfc_runner", site / "rdfc_runner")
        shutil.copy(TESTS / "rdfc_test_processors.py", site / "rdfc_test_processors.py")
    return venv, lib


def pipeline_assign(lib_written: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """send -> echo -> last -> (no reader); idle reads a channel without writers. The Echo class comes by
    rdfc:file through a site-packages path of `lib_written`, Send by rdfc:modulePath."""
    echo_file = (Path.cwd() / ".venv" / "lib" / lib_written / "site-packages" / "rdfc_test_processors.py").as_uri()
    echo = {"file": echo_file, "class": "Echo"}

    def proc(pid: str, implementation: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
        return {"id": pid, "class": "urn:test", "implementation": implementation, "arguments": arguments}

    return {
        "type": "assign",
        "processors": [
            proc(SEND, {"modulePath": "rdfc_test_processors", "class": "Send"},
                 {"writer": {"@writer": C1}, "msgs": ["a", "b"], "zeros": 3}),
            proc(ECHO, echo, {"reader": {"@reader": C1}, "writer": {"@writer": C2}}),
            proc(LAST, echo, {"reader": {"@reader": C2}, "writer": {"@writer": C3}, "label": "last"}),
            proc(IDLE, echo, {"reader": {"@reader": C4}, "label": "idle"}),
        ],
        "channels": [
            {"id": C1, "transport": "memory", "logLevel": "info", "writers": [end(SEND, "writer")],
             "readers": [end(ECHO, "reader")]},
            {"id": C2, "transport": "tcp", "writers": [end(ECHO, "writer")], "readers": [end(LAST, "reader")]},
            {"id": C3, "transport": "memory", "writers": [end(LAST, "writer")], "readers": []},
            {"id": C4, "transport": "websocket", "writers": [], "readers": [end(IDLE, "reader")]},
        ],
        **(extra or {}),
    }


class PipelineVenv(unittest.IsolatedAsyncioTestCase):
    """Whole sessions: the runner re-executes under the pipeline's .venv (or $VIRTUAL_ENV) and drives
    rdfc_runner processors from it, as rdfc_runner does."""

    async def asyncSetUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="riffle-py-venv-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.cwd = os.getcwd()
        self.addCleanup(os.chdir, self.cwd)

    async def run_pipeline(self, cwd: Path, venv: Path, lib: str, env: dict[str, str] | None = None) -> None:
        os.chdir(cwd)  # pipeline_assign makes the rdfc:file IRI from it
        fake = Fake()
        # Started by a Python that is not the pipeline's: the launcher must switch.
        await fake.start(cwd=str(cwd), env=env, python=sys.executable)
        await fake.recv()
        await fake.send(fixture("orchestrator/welcome.json"))
        await fake.send(pipeline_assign("python3.99"))
        listening = await fake.until("listening")
        await fake.send({"type": "connect", "endpoints": {"python": listening["endpoint"]}})
        fake.assert_type(await fake.recv(), "wired")
        await fake.send({"type": "init"})
        messages: list[dict[str, Any]] = []
        while (message := await fake.recv())["type"] != "initialised":
            messages.append(message)  # the init logs
        await fake.send({"type": "start"})
        while sum(m["type"] == "finished" for m in messages) < 4:
            message = await fake.recv()
            self.assertNotEqual(message["type"], "failed", message)
            if message["type"] != "stats":
                messages.append(message)
        version = lib.removeprefix("python")

        def of(processor: str) -> list[tuple[str, str, str]]:
            return [(m["type"], m.get("level", ""), m.get("message", "")) for m in messages if m["processor"] == processor]

        self.assertEqual(of(SEND), [
            ("log", "info", f"python {version} prefix {venv}"),
            ("log", "info", "a"), ("log", "info", "b"), ("log", "info", "<3 bytes>"),
            ("finished", "", ""),
        ])
        self.assertEqual(of(ECHO), [
            ("log", "info", "init None: started []; rdfc_runner ends True True"),
            ("log", "info", "None: 'a'"), ("log", "info", "None: 'b'"), ("log", "info", "None: '\\x00\\x00\\x00'"),
            ("log", "info", "None: end"), ("finished", "", ""),
        ])
        self.assertEqual(of(LAST), [
            ("log", "info", "init last: started ['None']; rdfc_runner ends True True"),
            ("log", "info", "last: 'a'"), ("log", "info", "last: 'b'"), ("log", "info", "last: '\\x00\\x00\\x00'"),
            ("log", "info", "last: end"), ("finished", "", ""),
        ])
        # idle's transform started at its init and ended at once (no writer), but is reported after start.
        self.assertEqual(of(IDLE), [
            ("log", "info", "init idle: started ['None', 'last']; rdfc_runner ends True True"),
            ("log", "info", "idle: end"), ("finished", "", ""),
        ])
        await fake.send({"type": "stop", "reason": "every processor finished"})
        rest = await fake.rest()
        self.assertEqual(rest[-1]["type"], "bye")
        ends = sorted((e["channel"], e["processor"], e["role"], e["messages"], e["bytes"]) for e in rest[-2]["ends"])
        self.assertEqual(ends, [
            (C1, ECHO, "reader", 3, 5), (C1, SEND, "writer", 3, 5),
            (C2, ECHO, "writer", 3, 5), (C2, LAST, "reader", 3, 5),
            (C3, LAST, "writer", 3, 5),
            (C4, IDLE, "reader", 0, 0),
        ])
        code, stderr = await fake.exit()
        self.assertEqual(code, 0, stderr)

    async def test_each_python_runs_the_pipeline_from_its_dot_venv(self) -> None:
        for python in await asyncio.to_thread(interpreters):
            with self.subTest(python=python):
                where = Path(tempfile.mkdtemp(dir=self.folder))
                venv, lib = await asyncio.to_thread(make_venv, where, python)
                await self.run_pipeline(where, venv, lib)

    async def test_virtual_env_when_the_pipeline_folder_has_none(self) -> None:
        elsewhere = self.folder / "elsewhere"
        elsewhere.mkdir()
        pythons = await asyncio.to_thread(interpreters)
        venv, lib = await asyncio.to_thread(make_venv, elsewhere, pythons[-1])
        pipeline = self.folder / "pipeline"
        (pipeline / ".venv").mkdir(parents=True)  # a .venv without an interpreter is not an environment
        # The rdfc:file IRI points into ./.venv; give it the file there too.
        site = pipeline / ".venv" / "lib" / lib / "site-packages"
        site.mkdir(parents=True)
        shutil.copy(TESTS / "rdfc_test_processors.py", site)
        await self.run_pipeline(pipeline, venv, lib, env={"VIRTUAL_ENV": str(venv)})

    async def test_file_and_http_ends_are_refused_at_connect(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.send(fixture("orchestrator/welcome.json"))
        await fake.send({"type": "assign", "processors": [], "channels": [
            {"id": C1, "transport": "file", "options": {"path": "/tmp/x", "onReplace": False, "readFirstContent": None,
                                                       "encoding": None},
             "writers": [end(SEND, "writer")], "readers": []},
        ]})
        listening = await fake.until("listening")
        await fake.send({"type": "connect", "endpoints": {"python": listening["endpoint"]}})
        self.assertEqual(await fake.recv(), {
            "type": "failed", "processor": SEND, "phase": "init", "stack": None,
            "message": f"channel {C1}: its writer end ({SEND}#writer) is a file channel (the connector "
                       f"architecture's file reader or writer), which only the JavaScript runner hosts; the Python "
                       f"runner has no file channel ends",
        })
        await fake.send(fixture("orchestrator/stop.json"))
        self.assertEqual((await fake.rest())[-1]["type"], "bye")
        self.assertEqual((await fake.exit())[0], 0)


class Launcher(unittest.TestCase):
    def test_a_pipeline_venv_older_than_3_11_is_refused(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            venv = Path(folder, ".venv")
            (venv / "bin").mkdir(parents=True)
            (venv / "bin" / "python").symlink_to(sys.executable)
            (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.10.4\n")
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "RIFFLE_PYTHON_LAUNCHED")}
            out = subprocess.run([sys.executable, str(RUNNER / "run.py")], cwd=folder, env=env, capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 2)
            self.assertEqual(out.stderr, f"riffle-runner-python: the pipeline's virtual environment {venv} is "
                                         f"Python 3.10; the runner needs Python 3.11 or later\n")


class RealPackage(unittest.TestCase):
    """rdfc-runner 1.0.0 and rdfc-log-processor 1.0.0 from PyPI, when RIFFLE_TEST_RDFC_VENV names a virtual
    environment that has them (runners/python/README.md says how to make one): their Send and Log processors."""

    def test_log_and_send_processors_from_pypi(self) -> None:
        venv = os.environ.get("RIFFLE_TEST_RDFC_VENV")
        if not venv:
            self.skipTest("RIFFLE_TEST_RDFC_VENV is not set")
        asyncio.run(self._run(Path(venv)))

    async def _run(self, venv: Path) -> None:
        with tempfile.TemporaryDirectory() as folder:
            os.symlink(venv, Path(folder, ".venv"))
            fake = Fake()
            await fake.start(cwd=folder)
            await fake.recv()
            log, send = "file:///pipe/log", "file:///pipe/send"
            await fake.up_to_start({"type": "assign", "processors": [
                {"id": log, "class": "urn:c", "implementation": {"modulePath": "rdfc_log_processor.processor",
                                                                   "class": "Log"},
                 "arguments": {"reader": {"@reader": C1}, "label": "test", "level": "info"}},
                {"id": send, "class": "urn:c", "implementation": {"modulePath": "rdfc_log_processor.processor",
                                                                    "class": "Send"},
                 "arguments": {"writer": {"@writer": C1}, "msgs": ["Hello, World!", "Good night, World!"]}},
            ], "channels": [{"id": C1, "transport": "memory", "writers": [end(send, "writer")],
                             "readers": [end(log, "reader")]}]})
            messages: list[dict[str, Any]] = []
            while sum(m["type"] == "finished" for m in messages) < 2:
                message = await fake.recv()
                if message["type"] not in ("stats",):
                    messages.append(message)
            self.assertEqual([(m["type"], m.get("message")) for m in messages if m["processor"] == log], [
                ("log", "Hello, World!"), ("log", "Good night, World!"), ("finished", None)])
            await fake.send({"type": "stop", "reason": "done"})
            await fake.rest()
            self.assertEqual((await fake.exit())[0], 0)


if __name__ == "__main__":
    unittest.main()
