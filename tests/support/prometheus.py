"""A real Prometheus and a real Pushgateway for the test session, on 127.0.0.1.

``prometheus_server`` starts Debian's ``/usr/bin/prometheus`` once per session with
an empty config and ``--web.enable-lifecycle``; a test points it at its own targets
with :meth:`PrometheusServer.scrape` (the config is rewritten and reloaded, the call
returns once the targets are active: ~5 s, Prometheus applies discovery updates at
most every 5 s) and asks PromQL through the HTTP API with
:meth:`PrometheusServer.query` / :meth:`PrometheusServer.wait_for`.  Give every test
its own ``job`` name: the TSDB is shared by the session.

``pushgateway_server`` starts ``/usr/bin/prometheus-pushgateway`` once per session,
in memory only (Debian's default would persist to ``/var/lib/prometheus``).  Use a
fresh job name per test so groups never collide.

Use them from a conftest: ``from tests.support.prometheus import prometheus_server``
(or list this module in ``pytest_plugins``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import free_port

PROMETHEUS = Path("/usr/bin/prometheus")
PUSHGATEWAY = Path("/usr/bin/prometheus-pushgateway")
HOST = "127.0.0.1"
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
_START_TIMEOUT_S = 30.0
_POLL_S = 0.1


def _get(url: str, *, method: str = "GET", timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class _Process:
    """A started server process, its port and its log."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _start(name: str, binary: Path, args: Callable[[int], list[str]], root: Path) -> _Process:
    """Start ``binary`` on a free port and wait for ``/-/ready``; fails the session if it can't."""
    if not binary.exists():
        pytest.fail(
            f"{binary} not found: install Debian's `{binary.name}` package "
            f"(apt-get install {binary.name}); the telemetry tests need it",
            pytrace=False,
        )
    failures: list[str] = []
    for attempt in range(_START_ATTEMPTS):
        port = free_port()
        log = root / f"{name}-{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # fixed binary and arguments
                [str(binary), *args(port)], stdout=out, stderr=subprocess.STDOUT, cwd=root
            )
        started = _Process(name, proc, port, log)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if _get(f"{started.url}/-/ready", timeout=1.0)[0] == 200:
                    return started
            except OSError:
                pass
            time.sleep(_POLL_S)
        started.stop()
        failures.append(f"port {port}:\n{started.log_tail()}")
    pytest.fail(f"{name} did not start:\n" + "\n".join(failures), pytrace=False)


class PrometheusServer:
    """A running Prometheus: point it at targets, then query it."""

    def __init__(self, process: _Process, config: Path) -> None:
        self._process = process
        self._config = config

    @property
    def url(self) -> str:
        return self._process.url

    def scrape(
        self,
        job: str,
        targets: Sequence[str],
        *,
        honor_labels: bool = False,
        interval: str = "1s",
        metrics_path: str = "/metrics",
    ) -> None:
        """Scrape ``targets`` (``host:port``) as ``job`` from now on, replacing any other job."""
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval},
            "scrape_configs": [
                {
                    "job_name": job,
                    "honor_labels": honor_labels,
                    "metrics_path": metrics_path,
                    "static_configs": [{"targets": list(targets)}],
                }
            ],
        }
        self._config.write_text(json.dumps(config))  # JSON is YAML
        status, body = _get(f"{self.url}/-/reload", method="POST")
        assert status == 200, f"reload failed: {status} {body!r}\n{self._process.log_tail()}"
        self.wait_for_api(
            "targets?state=active",
            lambda data: {t["scrapePool"] for t in data["activeTargets"]} == {job},
        )

    def wait_for_api(self, path: str, ready: Callable[[Any], bool], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        data: Any = None
        while time.monotonic() < deadline:
            data = self.api(path)
            if ready(data):
                return data
            time.sleep(_POLL_S)
        pytest.fail(f"Prometheus {path}: not ready after {timeout} s: {data}", pytrace=False)

    def api(self, path: str) -> Any:
        status, body = _get(f"{self.url}/api/v1/{path}")
        payload = json.loads(body)
        assert status == 200, f"/api/v1/{path}: {status} {payload}"
        return payload["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector: ``[{"metric": {...}, "value": [ts, "v"]}]``."""
        data = self.api("query?" + urllib.parse.urlencode({"query": promql}))
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(
        self,
        promql: str,
        ready: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 15.0,
    ) -> list[dict[str, Any]]:
        """Poll ``promql`` until ``ready(result)``; fails the test with the last result."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if ready(result):
                return result
            time.sleep(_POLL_S * 2)
        pytest.fail(f"{promql!r}: not as expected after {timeout} s: {result}", pytrace=False)


class PushgatewayServer:
    """A running Pushgateway."""

    def __init__(self, process: _Process) -> None:
        self._process = process

    @property
    def url(self) -> str:
        return self._process.url

    @property
    def address(self) -> str:
        return f"{HOST}:{self._process.port}"

    def groups(self) -> list[dict[str, Any]]:
        """The groups it holds (``/api/v1/metrics``), each with its labels and metrics."""
        status, body = _get(f"{self.url}/api/v1/metrics")
        assert status == 200, body
        groups: list[dict[str, Any]] = json.loads(body)["data"]
        return groups


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    """The session's Prometheus (started once); tests call ``.scrape(...)`` with their job."""
    root = Path(tempfile.mkdtemp(prefix="smokewatch-prom-"))
    config = root / "prometheus.yml"
    config.write_text('{"global": {"scrape_interval": "1s"}, "scrape_configs": []}')
    process = _start(
        "prometheus",
        PROMETHEUS,
        lambda port: [
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address={HOST}:{port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ],
        root,
    )
    try:
        yield PrometheusServer(process, config)
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pushgateway_server() -> Iterator[PushgatewayServer]:
    """The session's Pushgateway (started once, no persistence)."""
    root = Path(tempfile.mkdtemp(prefix="smokewatch-pushgw-"))
    process = _start(
        "pushgateway",
        PUSHGATEWAY,
        lambda port: [
            f"--web.listen-address={HOST}:{port}",
            # Debian's default persists to /var/lib/prometheus: keep the session's in memory.
            "--persistence.file=",
            "--log.level=warn",
        ],
        root,
    )
    try:
        yield PushgatewayServer(process)
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)
