"""The status API served for real: a Runtime-backed service, uvicorn on a loopback port.

``RuntimeService`` implements ``ServiceView`` over a real ``monitor.runtime.runtime.Runtime``
(a real SQLite store in ``tmp_path``, real checks against the demo target).  ``LiveApi``
runs the app under uvicorn on its own event loop in a thread, so tests talk to it over
HTTP with a plain ``httpx.Client`` and seed the store through :meth:`LiveApi.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import textwrap
import threading
from collections.abc import Awaitable, Callable, Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest
import uvicorn

from examples.demo_target import DemoTargetThread
from monitor.api import create_app
from monitor.api.limits import bounded_http
from monitor.config.loader import LoadedConfig, load_config
from monitor.contract import Readiness, Split, StoreLag, UnknownCheck
from monitor.runner import CheckRun
from monitor.runtime.runtime import Runtime
from monitor.runtime.serve import MAX_HEADER_BYTES
from monitor.store import ResultRecord, ResultStore
from monitor.telemetry.scrape import Exposition
from probes.base import Status

T = TypeVar("T")
TOKEN = "test-token-5f0c9a7e"  # the api.token the tests configure
START_TIMEOUT_S = 15.0

# Checks against the demo target; ``STATUS_API_KEY`` is a secret (its name says KEY).
CHECKS = """\
- name: health
  kind: http
  description: The demo target's liveness endpoint
  url: ${TARGET}/health
  tags: {team: web}
- name: api-status
  kind: http
  interval: 5m
  url: ${TARGET}/api/v1/status?api_key=${STATUS_API_KEY}
  headers: {X-Api-Key: "${STATUS_API_KEY}"}
"""
SECRET = "sk-live-0b9f2c71d4e8a635"


class RuntimeService:
    """A ``ServiceView`` without a scheduler: a Runtime, started and stopped by the app."""

    def __init__(self, loaded: LoadedConfig, *, region: str, env: dict[str, str]) -> None:
        self._loaded = loaded
        self._region = region
        self._env = env
        self._runtime: Runtime | None = None
        self.log_stream = io.StringIO()  # the Runtime's JSON log lines

    @property
    def loaded(self) -> LoadedConfig:
        return self._loaded

    @property
    def region(self) -> str:
        return self._region

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("service not started")
        return self._runtime

    @property
    def store(self) -> ResultStore:
        store = self.runtime.store
        if store is None:
            raise RuntimeError("runtime without a store")
        return store

    async def start(self) -> None:
        runtime = Runtime(
            self._loaded, region=self._region, env=self._env, log_stream=self.log_stream
        )
        await runtime.__aenter__()
        self._runtime = runtime

    async def stop(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            await runtime.__aexit__(None, None, None)

    async def metrics(self, accept: str | None = None) -> Exposition:
        return await self.runtime.scrapes.get(accept)

    def store_lag(self) -> StoreLag:
        return StoreLag()

    def split(self) -> Split | None:
        return None

    async def readiness(self) -> Readiness:
        try:
            await self.store.ping()
        except Exception as exc:  # noqa: BLE001 -- any failure means "not ready"
            return Readiness({"store": type(exc).__name__, "scheduler": "ok"})
        return Readiness({"store": "ok", "scheduler": "ok"})

    async def run_now(self, check: str) -> CheckRun:
        if not self.runtime.runner.checks_for_region([check]):
            raise UnknownCheck(check)
        [run] = await self.runtime.run_once([check])
        return run

    async def reload(self) -> LoadedConfig:
        loaded = load_config(self._loaded.path, self._env)  # raises ConfigError: keep the old
        await self.stop()
        self._loaded = loaded
        await self.start()
        return loaded


@dataclass
class LiveApi:
    """The app served by uvicorn on 127.0.0.1 in a thread with its own event loop."""

    service: RuntimeService
    log: Any = None  # None: the app's own structlog logger
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _started: threading.Event = field(default_factory=threading.Event)
    _error: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(self.service, log=self.log),
            lifespan="on",
            # The protocol serve runs: httptools with its request deadline and head limit.
            http=bounded_http(
                self.service.loaded.config.api.request_timeout.total_seconds(), MAX_HEADER_BYTES
            ),
            log_config=None,
            log_level="warning",
            access_log=False,
        )
        self._server = _QuietServer(config)
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self._thread.start()
        started = self._started.wait(START_TIMEOUT_S)
        if not started or self._error or not self._server.started:
            self.stop()
            raise RuntimeError(f"the API did not start: {self._error}")

    def _run(self, sock: socket.socket) -> None:
        async def main() -> None:
            assert self._server is not None
            self._loop = asyncio.get_running_loop()
            task = asyncio.create_task(self._server.serve(sockets=[sock]))
            while not self._server.started and not task.done():  # noqa: ASYNC110 -- uvicorn offers only a flag
                await asyncio.sleep(0.01)
            self._started.set()
            await task

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 -- handed to the starting thread, which raises
            self._error.append(exc)
            self._started.set()
        finally:
            sock.close()

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the server's loop (where the store lives) and return its result."""
        assert self._loop is not None

        async def run() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout=30)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class _QuietServer(uvicorn.Server):
    """Leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def config_yaml(db: Path, *, checks: str = CHECKS, api: str = "", extra: str = "") -> str:
    """A smokewatch.yaml: quick retries, a SQLite store, no alert rules, no answer cache."""
    api = textwrap.dedent(api)
    if not any(line.startswith("cache:") for line in api.splitlines()):
        api = "cache: 0s\n" + api
    if "page_cache:" not in api:
        api = "page_cache: 0s\n" + api
    return (
        "defaults: {retries: 0, timeout: 5s}\n"
        f"storage: {{url: 'sqlite:///{db}'}}\n"
        "alert_rules: null\n"
        f"{textwrap.dedent(extra)}"
        f"api:\n{textwrap.indent(api, '  ')}"
        f"checks:\n{textwrap.indent(textwrap.dedent(checks), '  ')}"
    )


StartApi = Callable[..., LiveApi]


def launch(
    directory: Path,
    target_url: str,
    *,
    checks: str = CHECKS,
    api: str = "",
    extra: str = "",
    region: str = "eu",
    service: type[RuntimeService] = RuntimeService,
    log: Any = None,
) -> LiveApi:
    """Write a config and a fresh store under ``directory`` and serve them; the caller stops it."""
    path = directory / "smokewatch.yaml"
    path.write_text(config_yaml(directory / "results.db", checks=checks, api=api, extra=extra))
    env = {"TARGET": target_url, "STATUS_API_KEY": SECRET, "API_TOKEN": TOKEN}
    live = LiveApi(service(load_config(path, env), region=region, env=env), log=log)
    live.start()
    return live


@pytest.fixture
def start_api(tmp_path: Path, served: DemoTargetThread) -> Iterator[StartApi]:
    """Start the API over a fresh config and store; every one started is stopped after the test."""
    started: list[LiveApi] = []

    def start(**options: Any) -> LiveApi:
        directory = tmp_path / f"api-{len(started)}"
        directory.mkdir()
        live = launch(directory, served.url, **options)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def result(
    check: str = "health",
    region: str = "eu",
    status: Status = Status.PASS,
    *,
    started_at: datetime = T0,
    duration_ms: float = 25.0,
    message: str = "ok",
    **fields: Any,
) -> ResultRecord:
    values: dict[str, Any] = {
        "run_id": uuid4().hex,  # each stored run is its own (results are unique per run)
        "kind": "http",
        "attempts": 1,
        "timings": {"total": duration_ms},
        "assertions": [],
        "details": {},
        "artifacts": [],
        **fields,
    }
    return ResultRecord(
        check=check,
        region=region,
        status=status,
        started_at=started_at,
        duration_ms=duration_ms,
        message=message,
        **values,
    )


def seed(api: LiveApi, *records: ResultRecord) -> list[int]:
    """Store ``records`` through the running service's store; returns their ids."""

    async def add() -> list[int]:
        return [await api.service.store.add(r) for r in records]

    return api.call(add)
