"""One runner process against a fake orchestrator (a websockets server on port 0): the session of
protocol/fixtures/session.jsonl with Python processors, and the ways a session can go wrong."""

import asyncio
import json
import os
import sys
import unittest
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

RUNNER = Path(__file__).resolve().parents[1]
FIXTURES = RUNNER.parents[1] / "protocol" / "fixtures"
PROCESSORS = (Path(__file__).resolve().parent / "processors.py").as_uri()
SECRET = "ab" * 32
GEN, SINK, NUMBERS = "file:///pipelines/demo/gen", "file:///pipelines/demo/sink", "file:///pipelines/demo/numbers"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def processor(pid: str, cls: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": pid, "class": f"urn:test:{cls}", "implementation": {"file": PROCESSORS, "class": cls},
            "arguments": arguments}


def local_assign(count: int, generator: str = "Generator") -> dict[str, Any]:
    arguments = {"writer": {"@writer": NUMBERS}, "count": count, "size": 64}
    return {
        "type": "assign",
        "processors": [processor(GEN, generator, arguments), processor(SINK, "Counter", {"reader": {"@reader": NUMBERS}})],
        "channels": [{"id": NUMBERS, "transport": "memory",
                      "writers": [{"processor": GEN, "argument": "writer", "runner": "python"}],
                      "readers": [{"processor": SINK, "argument": "reader", "runner": "python"}]}],
    }


class Fake:
    """The orchestrator's side: accepts the runner's control connection and talks JSON with it."""

    async def start(self, cwd: str | None = None, env: dict[str, str] | None = None,
                    python: str = sys.executable) -> None:
        """Starts run.py with `python`, in `cwd`, with `env` added to the environment."""
        self.connections: asyncio.Queue[ServerConnection] = asyncio.Queue()
        self.done = asyncio.Event()

        async def handler(connection: ServerConnection) -> None:
            await self.connections.put(connection)
            await self.done.wait()

        self.server = await serve(handler, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        environment = dict(os.environ, RIFFLE_CONTROL_URL=f"ws://127.0.0.1:{port}", RIFFLE_SECRET=SECRET,
                           RIFFLE_RUNNER_ID="python", **(env or {}))
        self.process = await asyncio.create_subprocess_exec(
            python, str(RUNNER / "run.py"), env=environment, cwd=cwd, stderr=asyncio.subprocess.PIPE)
        self.connection = await asyncio.wait_for(self.connections.get(), 30)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def recv(self) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), 30))

    async def until(self, kind: str) -> dict[str, Any]:
        while (message := await self.recv())["type"] != kind:
            pass
        return message

    async def up_to_start(self, assign: dict[str, Any]) -> None:
        await self.send(fixture("orchestrator/welcome.json"))
        await self.send(assign)
        listening = await self.until("listening")
        await self.send({"type": "connect", "endpoints": {"python": listening["endpoint"]}})
        self.assert_type(await self.recv(), "wired")
        await self.send({"type": "init"})
        self.assert_type(await self.recv(), "initialised")
        await self.send({"type": "start"})

    @staticmethod
    def assert_type(message: dict[str, Any], kind: str) -> None:
        if message["type"] != kind:
            raise AssertionError(f"expected {kind}, got {message}")

    async def rest(self) -> list[dict[str, Any]]:
        """Every message until the runner closes the connection."""
        return [json.loads(raw) async for raw in self.connection]

    async def exit(self) -> tuple[int, str]:
        _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        self.done.set()
        self.server.close()
        return self.process.returncode or 0, stderr.decode()


class Session(unittest.IsolatedAsyncioTestCase):
    async def test_replays_the_session_with_a_local_pipeline(self) -> None:
        fake = Fake()
        await fake.start()
        hello = await fake.recv()
        self.assertEqual((hello["secret"], hello["runner"], hello["pid"]), (SECRET, "python", fake.process.pid))
        expected = fixture("runner/hello.json")
        for field in ("pid", "secret", "runner", "language"):
            hello.pop(field)
            expected.pop(field)
        self.assertEqual(hello, expected)

        await fake.send(fixture("orchestrator/welcome.json"))
        await fake.send(local_assign(1000))
        listening = await fake.recv()
        self.assertEqual(listening["type"], "listening")
        host, port = listening["endpoint"].rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertNotEqual(int(port), 0)
        await fake.send({"type": "connect", "endpoints": {"python": listening["endpoint"]}})
        self.assertEqual(await fake.recv(), fixture("runner/wired.json"))
        await fake.send(fixture("orchestrator/init.json"))
        self.assertEqual(await fake.recv(), fixture("runner/initialised.json"))
        await fake.send(fixture("orchestrator/start.json"))

        after_start: list[dict[str, Any]] = []
        while sum(m["type"] == "finished" for m in after_start) < 2:
            message = await fake.recv()
            if message["type"] != "stats":
                after_start.append(message)
        self.assertEqual(
            [m for m in after_start if m["processor"] == GEN],
            [{"type": "log", "processor": GEN, "level": "info", "message": "sent 1000 messages"},
             {"type": "finished", "processor": GEN}],
        )
        self.assertEqual(
            [m for m in after_start if m["processor"] == SINK],
            [{"type": "log", "processor": SINK, "level": "info", "message": "1000 messages, 64000 bytes"},
             {"type": "finished", "processor": SINK}],
        )
        self.assertEqual(len(after_start), 4)

        await fake.send({"type": "stop", "reason": "every processor finished"})
        rest = await fake.rest()
        kinds = [m["type"] for m in rest]
        self.assertEqual(kinds[-2:], ["stats", "bye"])
        self.assertTrue(all(k == "stats" for k in kinds[:-2]), kinds)
        ends = sorted(rest[-2]["ends"], key=lambda e: e["role"])
        blocked = ends[1].pop("blocked_us")
        self.assertIsInstance(blocked, int)
        self.assertEqual(ends, [
            {"channel": NUMBERS, "processor": SINK, "role": "reader", "messages": 1000, "bytes": 64000},
            {"channel": NUMBERS, "processor": GEN, "role": "writer", "messages": 1000, "bytes": 64000},
        ])
        self.assertEqual(rest[-1], fixture("runner/bye.json"))
        code, stderr = await fake.exit()
        self.assertEqual(code, 0, stderr)

    async def test_an_unknown_class_fails_init_and_names_it(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.send(fixture("orchestrator/welcome.json"))
        nope = processor("file:///p/nope", "Nope", {})
        await fake.send({"type": "assign", "processors": [nope], "channels": []})
        listening = await fake.until("listening")
        await fake.send({"type": "connect", "endpoints": {"python": listening["endpoint"]}})
        await fake.until("wired")
        await fake.send({"type": "init"})
        self.assertEqual(await fake.recv(), {
            "type": "failed", "processor": "file:///p/nope", "phase": "init",
            "message": f"processor file:///p/nope needs class \"Nope\", which {PROCESSORS} does not define "
                       f"(it defines: Counter, Forever, Generator)",
            "stack": None,
        })
        await fake.send(fixture("orchestrator/stop.json"))
        self.assertEqual((await fake.rest())[-1]["type"], "bye")
        self.assertEqual((await fake.exit())[0], 0)

    async def test_stop_is_handled_while_a_processor_is_busy(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.up_to_start(local_assign(0, generator="Forever"))
        await fake.until("stats")
        await fake.send(fixture("orchestrator/stop.json"))
        rest = await fake.rest()
        self.assertEqual(rest[-1]["type"], "bye")
        self.assertEqual((await fake.exit())[0], 0)

    async def test_the_runner_exits_when_the_orchestrator_vanishes(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.up_to_start(local_assign(0, generator="Forever"))
        await fake.until("stats")
        await fake.connection.close()
        code, stderr = await fake.exit()
        self.assertEqual(code, 1, stderr)
        self.assertIn("the orchestrator went away", stderr)

    async def test_a_refused_runner_says_why_and_exits_1(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.send(fixture("orchestrator/refused.json"))
        code, stderr = await fake.exit()
        self.assertEqual(code, 1)
        self.assertEqual(stderr, "riffle-runner-python python: the orchestrator refused this runner: wrong secret\n")

    async def test_sigterm_without_stop_says_bye_and_exits_143(self) -> None:
        fake = Fake()
        await fake.start()
        await fake.recv()
        await fake.up_to_start(local_assign(0, generator="Forever"))
        await fake.until("stats")
        fake.process.terminate()
        rest = await fake.rest()
        self.assertEqual([m["type"] for m in rest][-2:], ["stats", "bye"])
        self.assertEqual((await fake.exit())[0], 143)

    async def test_missing_environment_is_exit_2(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIFFLE_")}
        process = await asyncio.create_subprocess_exec(sys.executable, str(RUNNER / "run.py"), env=env,
                                                       stderr=asyncio.subprocess.PIPE)
        _, stderr = await process.communicate()
        self.assertEqual(process.returncode, 2)
        self.assertIn("RIFFLE_CONTROL_URL, RIFFLE_SECRET, RIFFLE_RUNNER_ID", stderr.decode())

    def test_the_secret_can_come_from_a_file(self) -> None:
        from riffle_runner.session import Config
        import tempfile
        from unittest import mock
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "run.secret"
            path.write_text(SECRET + "\n")
            env = {"RIFFLE_CONTROL_URL": "ws://127.0.0.1:1", "RIFFLE_RUNNER_ID": "python", "RIFFLE_SECRET_FILE": str(path)}
            with mock.patch.dict(os.environ, env, clear=True):
                self.assertEqual(Config.from_env().secret, SECRET)
                path.write_text("")
                with self.assertRaises(ValueError) as empty:
                    Config.from_env()
                self.assertEqual(str(empty.exception),
                                 f"RIFFLE_SECRET_FILE={path} is empty; it should hold the run's secret on its first line")


if __name__ == "__main__":
    unittest.main()
