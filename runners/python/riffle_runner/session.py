"""The runner's side of the control protocol (docs/protocol.md): hello to bye."""

import asyncio
import logging
import os
import signal
import sys
import ssl
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from .address import announced, listen_address
from .endpoint import Endpoint
from .errors import ProtocolError
from .lifecycle import Hosted, failed
from .logs import ControlLogHandler, ProcessorOutput
from .protocol import PROTOCOL, encode, parse_from_orchestrator
from .stats import StatsBoard
from .tls import IdentityError, RunTls, certificate_of, identity_line, is_encrypted, not_the_run_certificate
from .wiring import WireFailure, Wiring

STATS_EVERY_S = 0.25
# How long stopping waits for processors that ignore their cancellation, before exiting anyway.
STOP_GRACE_S = 5.0


@dataclass
class Config:
    control_url: str
    secret: str
    runner_id: str
    # None: where this runner reached the orchestrator from, port 0.
    data_listen: str | None
    # None: the bound address (for a wildcard bind, where this runner reached the orchestrator from).
    data_advertise: str | None
    # The run's identity in an encrypted run (a wss:// control URL), None in a plaintext one: what every
    # socket of the run is made with.
    tls: RunTls | None = None

    @staticmethod
    def from_env() -> "Config":
        secret = os.environ.get("RIFFLE_SECRET") or secret_from_file(os.environ.get("RIFFLE_SECRET_FILE"))
        control_url = os.environ.get("RIFFLE_CONTROL_URL", "")
        tls = run_tls(os.environ.get("RIFFLE_SECRET_FILE")) if is_encrypted(control_url) else None
        missing = [v for v in ("RIFFLE_CONTROL_URL", "RIFFLE_RUNNER_ID") if not os.environ.get(v)]
        if not secret:
            missing.insert(1, "RIFFLE_SECRET")
        if missing:
            raise KeyError(", ".join(missing))
        return Config(
            os.environ["RIFFLE_CONTROL_URL"],
            secret,
            os.environ["RIFFLE_RUNNER_ID"],
            os.environ.get("RIFFLE_DATA_LISTEN") or None,
            os.environ.get("RIFFLE_DATA_ADVERTISE") or None,
            tls,
        )


class EncryptedRunError(ValueError):
    """An encrypted run without its identity: the message is the whole stderr line, and the runner exits 1."""


def run_tls(path: str | None) -> RunTls:
    """The run's TLS identity, from the secret file, which every runner of an encrypted run must be given."""
    if not path:
        raise EncryptedRunError(identity_line("is not set"))
    try:
        with open(path, encoding="utf-8") as f:
            certificate = certificate_of(f.read())
        return RunTls(path, certificate)
    except IdentityError as e:
        raise EncryptedRunError(identity_line(f"({path}) {e}")) from None
    except ssl.SSLError as e:
        raise EncryptedRunError(identity_line(f"({path}) holds a certificate and key that TLS refuses: {e}")) from None
    except (OSError, UnicodeDecodeError) as e:
        raise EncryptedRunError(identity_line(f"({path}) cannot be read: {e}")) from None


def secret_from_file(path: str | None) -> str:
    """The first line of the file RIFFLE_SECRET_FILE names (riffle prints that, never the secret); "" if unset."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().strip()
    except OSError as e:
        raise ValueError(f"RIFFLE_SECRET_FILE={path} cannot be read: {e.strerror}") from e
    if not first:
        raise ValueError(f"RIFFLE_SECRET_FILE={path} is empty; it should hold the run's secret on its first line")
    return first


class Session:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._name = f"riffle-runner-python {config.runner_id}"
        self._ws: ClientConnection | None = None
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._stats = StatsBoard()
        self._endpoint = Endpoint(config.secret, tls=config.tls)
        self._wiring: Wiring | None = None
        self._hosted: list[Hosted] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._outputs: list[ProcessorOutput] = []
        self._said_bye = False
        self._silent = False

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        signalled: asyncio.Future[int] = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda s=sig: signalled.done() or signalled.set_result(int(s)))
        self._capture_output()
        tls = self._config.tls
        try:
            self._ws = await connect(
                self._config.control_url, max_size=None, compression=None, ping_interval=None,
                ssl=tls.client if tls is not None else None, server_hostname="" if tls is not None else None,
            )
        except (OSError, WebSocketException, ssl.SSLError) as e:
            self._say(f"cannot connect to the orchestrator at {self._config.control_url}: {e}")
            return 1
        if tls is not None and not tls.presents_run_certificate(self._ws.transport.get_extra_info("ssl_object")):
            # Before the hello: the secret goes only to the run's orchestrator.
            host, port = self._ws.remote_address[:2]
            self._say(f"cannot connect to the orchestrator at {self._config.control_url}: "
                      f"{not_the_run_certificate(host, port)}")
            self._ws.transport.abort()
            return 1
        self._sender = asyncio.create_task(self._send_loop(self._ws))
        dispatch = asyncio.create_task(self._dispatch(self._ws))
        await asyncio.wait({dispatch, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if dispatch.done():
            return dispatch.result()
        dispatch.cancel()
        await asyncio.gather(dispatch, return_exceptions=True)
        return await self._stop(128 + signalled.result())

    def send(self, message: dict[str, Any]) -> None:
        if not self._said_bye:
            self._outbox.put_nowait(encode(message))

    async def _dispatch(self, ws: ClientConnection) -> int:
        self.send({"type": "hello", "protocol": PROTOCOL, "secret": self._config.secret,
                   "runner": self._config.runner_id, "language": "python", "pid": os.getpid()})
        try:
            async for raw in ws:
                message = parse_from_orchestrator(raw)
                kind = message["type"]
                if kind == "welcome":
                    deadline = message.get("heartbeatMs")
                    if isinstance(deadline, int) and deadline > 0:
                        self._endpoint.silence_s = deadline / 1000
                        self._spawn(self._watch_heartbeats(ws, deadline / 1000))
                    continue
                if kind == "refused":
                    self._say(f"the orchestrator refused this runner: {message['reason']}")
                    return 1
                if kind == "stop":
                    return await self._stop(0)
                if not await self._handle(kind, message):
                    await self._cancel_all()
                    return 1
        except ProtocolError as e:
            self._say(f"protocol error from the orchestrator: {e}")
            await ws.close(1002, "protocol error")
            await self._cancel_all()
            return 1
        except ConnectionClosed:
            pass
        if not self._silent:
            self._say("the orchestrator went away (the control connection closed before stop); exiting")
        await self._cancel_all()
        return 1

    async def _watch_heartbeats(self, ws: ClientConnection, deadline: float) -> None:
        """The orchestrator answers pings; when none is answered for `deadline` seconds, it, its host or
        the link is gone and nobody will say stop: the connection is cut, which ends the session."""
        loop = asyncio.get_running_loop()
        heard = loop.time()

        def answered(pong: asyncio.Future[float]) -> None:
            nonlocal heard
            if not pong.cancelled() and pong.exception() is None:
                heard = loop.time()

        while True:
            try:
                (await ws.ping()).add_done_callback(answered)
            except ConnectionClosed:
                return
            await asyncio.sleep(deadline / 5)
            silent = loop.time() - heard
            if silent >= deadline:
                self._silent = True
                self._say(f"the orchestrator has been silent for {silent:.1f} s (no heartbeat); exiting")
                ws.transport.abort()
                return

    async def _handle(self, kind: str, message: dict[str, Any]) -> bool:
        """False when the runner cannot go on."""
        if kind == "assign":
            self._wiring = Wiring(self._config.runner_id, self._config.secret, message["channels"],
                                  self._endpoint, self._stats, emit=self._log)
            self._hosted = [Hosted(p) for p in message["processors"]]
            control_ip = self._ws.local_address[0] if self._ws is not None else "127.0.0.1"
            listen = listen_address(self._config.data_listen, control_ip)
            try:
                bound = await self._endpoint.start(listen)
            except (OSError, ValueError) as e:
                self._say(f"cannot open the data endpoint on {listen}: {e}")
                return False
            self.send({"type": "listening", "endpoint": announced(bound, self._config.data_advertise, control_ip)})
        elif kind == "connect":
            self._spawn(self._connect(message["endpoints"]))
        elif kind == "init":
            self._spawn(self._init())
        elif kind == "start":
            for hosted in self._hosted:
                self._spawn(hosted.run(self._finished), context=hosted.context)
            self._spawn(self._stats_loop())
        return True

    async def _connect(self, endpoints: dict[str, str]) -> None:
        assert self._wiring is not None
        try:
            await self._wiring.connect(endpoints)
        except WireFailure as e:
            self.send({"type": "failed", "processor": e.processor, "phase": "init", "message": e.message,
                       "stack": None})
            return
        self.send({"type": "wired"})

    async def _init(self) -> None:
        assert self._wiring is not None
        for hosted in self._hosted:
            hosted.ends = self._wiring.ends(hosted.id)  # live now that every writer is connected
            try:
                await asyncio.create_task(hosted.construct_and_init(), context=hosted.context)
            except Exception as e:
                self.send(failed(hosted.id, "init", e))
                return
            if hosted.early_transform is not None:
                self._track(hosted.early_transform)
        self.send({"type": "initialised"})

    def _finished(self, message: dict[str, Any]) -> None:
        for output in self._outputs:
            output.flush_processor(message["processor"])
        self.send(message)

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            if self._stats.changed():
                self.send(self._stats.message())

    async def _stop(self, code: int) -> int:
        await self._cancel_all()
        self.send(self._stats.message())
        self.send({"type": "bye"})
        self._said_bye = True
        self._outbox.put_nowait(None)
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        return code

    async def _cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
        if self._wiring is not None:
            self._wiring.abort()
        await self._endpoint.close()

    async def _send_loop(self, ws: ClientConnection) -> None:
        while (text := await self._outbox.get()) is not None:
            try:
                await ws.send(text)
            except ConnectionClosed:
                return

    def _spawn(self, coroutine: Any, context: Any = None) -> None:
        self._track(asyncio.create_task(coroutine, context=context))

    def _track(self, task: asyncio.Task[Any]) -> None:
        """Cancelled when the runner stops."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _log(self, processor: str | None, level: str, message: str) -> None:
        if self._ws is None or self._said_bye:
            sys.__stderr__.write(f"{message}\n")
            return
        self.send({"type": "log", "processor": processor, "level": level, "message": message})

    def _say(self, text: str) -> None:
        """The runner's own line on stderr, which riffle shows as `[runner <id>]`."""
        print(f"{self._name}: {text}", file=sys.__stderr__, flush=True)

    def _capture_output(self) -> None:
        stdout = ProcessorOutput(sys.__stdout__, "info", self._log)
        stderr = ProcessorOutput(sys.__stderr__, "warn", self._log)
        self._outputs = [stdout, stderr]
        sys.stdout, sys.stderr = stdout, stderr
        handler = ControlLogHandler(self._log)
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.getLogger("websockets").setLevel(logging.WARNING)
