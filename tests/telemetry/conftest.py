"""Fixtures of the telemetry tests: real servers and sockets on 127.0.0.1, real runs."""

from __future__ import annotations

import io
import socket
import tempfile
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.runner import CheckRun
from monitor.runtime.runtime import Runtime
from tests.telemetry.helpers import (
    DatagramListener,
    Recorder,
    RunChecks,
    json_logger,
    recording_server,
)

# Fast retries, as in the CLI tests; the demo target answers in a few ms.
PREAMBLE = """\
defaults:
  retries: 1
  backoff: {initial: 10ms, max: 20ms}
  timeout: 5s
alert_rules: null
checks:
"""

DEMO_CHECKS = """\
- name: health
  kind: http
  url: ${TARGET}/health
  expect:
    json:
      - {path: $.status, equals: healthy}
- name: api-test
  kind: http
  url: ${TARGET}/api/v1/test
- name: missing
  kind: http
  url: ${TARGET}/no-such-page
- name: api-login
  kind: flow
  steps:
    - name: login
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/login
      json: {email: smoke-test-basic@example.com, password: demo-password}
      expect: {status: [200]}
      capture:
        token: {json: $.access_token}
    - name: profile
      url: ${TARGET}/api/user/profile
      headers: {Authorization: "Bearer {{ token }}"}
  cleanup:
    - name: logout
      method: POST
      allow_write: true
      url: ${TARGET}/api/auth/logout
      headers: {Authorization: "Bearer {{ token }}"}
"""


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def logger() -> tuple[Any, io.StringIO]:
    """A JSON logger and the buffer it writes to."""
    return json_logger()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """An HTTP server recording every request; set ``.status``/``.delay_s`` to misbehave."""
    with recording_server(Recorder()) as running:
        yield running


@pytest.fixture
def udp_listener() -> Iterator[DatagramListener]:
    """A UDP socket bound on 127.0.0.1: a stand-in Datadog Agent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield DatagramListener(sock)


@pytest.fixture
def unix_listener() -> Iterator[tuple[DatagramListener, str]]:
    """A Unix datagram socket (short path: the limit is 108 bytes) and its path."""
    directory = Path(tempfile.mkdtemp(prefix="dsd-"))
    path = str(directory / "dsd.socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        yield DatagramListener(sock), path
    Path(path).unlink(missing_ok=True)
    directory.rmdir()


@pytest.fixture
async def run_checks(
    tmp_path: Path, served: DemoTargetThread, target: TargetState, log_stream: io.StringIO
) -> AsyncIterator[RunChecks]:
    """Run checks (YAML list, ``${TARGET}`` = the demo target) once in a Runtime, as
    ``run --once`` does; returns the (still open) Runtime and the runs."""
    runtimes: list[Runtime] = []

    async def run(
        checks: str = DEMO_CHECKS, *, region: str = "eu-test"
    ) -> tuple[Runtime, list[CheckRun]]:
        path = tmp_path / f"smokewatch-{len(runtimes)}.yaml"
        path.write_text(PREAMBLE + textwrap.indent(checks, "  "))
        loaded = load_config(path, env={"TARGET": served.url})
        runtime = Runtime(loaded, region=region, use_store=False, log_stream=log_stream, env={})
        runtimes.append(runtime)
        await runtime.__aenter__()
        return runtime, await runtime.run_once()

    yield run
    for runtime in runtimes:
        await runtime.__aexit__(None, None, None)
