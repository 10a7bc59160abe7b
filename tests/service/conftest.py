"""Fixtures for the service tests: configs on short intervals against the demo target."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config.loader import load_config
from monitor.runtime.service import Service
from tests.support.processes import SMOKEWATCH, free_port, with_pycache

# Short everything: fast retries, no jitter, a quick lease poll.  The shape is production's.
PREAMBLE = """\
defaults:
  retries: 0
  timeout: 5s
  interval: {interval}
rate_limit:
  fraction: 1.0
  default: {{limit: 100000}}
scheduler:
  jitter: 0s
  lease_poll: {lease_poll}
  shutdown_grace: {grace}
  run_at_start: {run_at_start}
storage:
  url: {db}
logging:
  format: json
  level: info
alert_rules: null
checks:
"""

HEALTH = """\
- name: health
  kind: http
  url: ${TARGET}/health
"""

STATUS = """\
- name: status
  kind: http
  url: ${TARGET}/api/v1/status
"""


def slow_status(target: TargetState, ms: int) -> None:
    """Make only /api/v1/status slow; /health stays fast."""
    target.set_faults(slow_ms=ms, scope={"slow_ms": "/api/v1/status"})


class WriteConfig(Protocol):
    def __call__(
        self,
        checks: str = ...,
        *,
        interval: str = ...,
        lease_poll: str = ...,
        grace: str = ...,
        run_at_start: bool = ...,
        db: str | None = ...,
        path: Path | None = ...,
    ) -> Path: ...


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.fixture
def write_config(tmp_path: Path, db_file: str) -> WriteConfig:
    """Write (or rewrite) a smokewatch.yaml with the test preamble and the given checks."""

    def write(
        checks: str = HEALTH,
        *,
        interval: str = "1s",
        lease_poll: str = "200ms",
        grace: str = "5s",
        run_at_start: bool = True,
        db: str | None = None,
        path: Path | None = None,
    ) -> Path:
        target = path or tmp_path / "smokewatch.yaml"
        body = PREAMBLE.format(
            interval=interval,
            lease_poll=lease_poll,
            grace=grace,
            run_at_start=str(run_at_start).lower(),
            db=db or db_file,
        )
        target.write_text(body + textwrap.indent(textwrap.dedent(checks), "  "))
        return target

    return write


@pytest.fixture
def target_env(served: DemoTargetThread, target: TargetState) -> dict[str, str]:
    """The environment configs interpolate: ``TARGET`` is the healthy demo target."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    return {**env, "TARGET": served.url}


@dataclass
class Running:
    """A started service and the log lines it wrote."""

    service: Service
    stream: io.StringIO

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        return [e for e in lines if name is None or e.get("event") == name]


StartService = Callable[..., Awaitable[Running]]


@asynccontextmanager
async def _services() -> AsyncIterator[list[Service]]:
    started: list[Service] = []
    try:
        yield started
    finally:
        for service in reversed(started):
            async with asyncio.timeout(30):
                await service.stop()


@pytest.fixture
async def start_service(target_env: dict[str, str]) -> AsyncIterator[StartService]:
    """Start a Service on a config file; every one started is stopped after the test."""
    async with _services() as started:

        async def start(
            config: Path, *, region: str | None = None, scheduler: bool = True
        ) -> Running:
            stream = io.StringIO()
            service = Service(
                load_config(config, target_env),
                region=region,
                env=target_env,
                scheduler=scheduler,
                log_stream=stream,
            )
            await service.start()
            started.append(service)
            return Running(service, stream)

        yield start


async def eventually(
    predicate: Callable[[], Awaitable[bool]], *, timeout_s: float = 5.0, step_s: float = 0.05
) -> float:
    """Wait until ``predicate()`` holds; returns the seconds it took.  Fails after ``timeout_s``."""
    t0 = time.monotonic()
    while not await predicate():
        if time.monotonic() - t0 > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        await asyncio.sleep(step_s)
    return time.monotonic() - t0


# -- `smokewatch serve` as users run it: the installed script in a subprocess ----------

SERVE_START_TIMEOUT_S = 90.0  # a cold interpreter on a loaded 2-core CI box is slow to import


@dataclass
class ServeProcess:
    """A running ``smokewatch serve``: its process, base URL and combined output."""

    proc: subprocess.Popen[bytes]
    url: str
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                if event.get("event") == name:
                    found.append(event)
        return found

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5.0)

    def wait_up(self) -> None:
        deadline = time.monotonic() + SERVE_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode}:\n{self.text()}")
            try:
                if self.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"serve did not answer within {SERVE_START_TIMEOUT_S} s:\n{self.text()}")


StartServe = Callable[..., ServeProcess]


@pytest.fixture
def start_serve(target_env: dict[str, str], tmp_path: Path, pycache: Path) -> Iterator[StartServe]:
    """Start ``smokewatch serve`` on a free loopback port; every process is stopped afterwards."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(
        config: Path, *, region: str | None = None, args: Sequence[str] = (), wait: bool = True
    ) -> ServeProcess:
        port = free_port()
        env = with_pycache(target_env, pycache)
        if region is not None:
            env["SMOKEWATCH_REGION"] = region
        output = tmp_path / f"serve-{port}.log"
        with output.open("wb") as sink:
            proc = subprocess.Popen(
                [SMOKEWATCH, "serve", "--config", str(config), "--port", str(port), *args],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
        procs.append(proc)
        running = ServeProcess(proc, f"http://127.0.0.1:{port}", output)
        if wait:
            running.wait_up()
        return running

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                # SIGTERM first: a serve process that exits on its own writes its coverage data.
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            proc.wait(timeout=10)


def wait_for(predicate: Callable[[], bool], *, timeout_s: float = 5.0) -> float:
    """Block until ``predicate()`` holds; returns the seconds it took; fails after ``timeout_s``."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - t0
