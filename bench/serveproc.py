"""``smokewatch serve --no-scheduler`` in a subprocess, for API benchmarks.

    path = write_config(tmp / "smokewatch.yaml", store_url, checks, regions, cache_s=2.0)
    with Serve(path, region=regions[0], log=tmp / "serve.log") as serve:
        serve.url("/api/v1/status"); serve.cpu_seconds(); serve.rss_bytes()

The server runs as users run it (the installed ``smokewatch`` script, uvicorn, the
config file), on a free loopback port, its log (JSON lines) going to a file.  Its CPU
and memory come from psutil.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.procs import HOST, REPO, _Started, _stop, free_port

SMOKEWATCH = str(Path(sys.executable).with_name("smokewatch"))
START_TIMEOUT_S = 90.0  # a cold interpreter on a loaded 2-core box imports the API stack slowly

# Nothing here ever runs: the scheduler is off.  The port-9 URLs only make the checks valid.
CONFIG_HEAD = """\
# Written by bench/api.py: the seeded checks, served read-only.
regions: [{regions}]
storage:
  url: {url}
api:
  cache: {cache}
logging:
  format: json
  level: info
alert_rules: null
checks:
"""
CHECK = """\
  - name: {name}
    kind: http
    url: http://127.0.0.1:9/{name}
"""


def write_config(
    path: Path, store_url: str, checks: list[str], regions: list[str], *, cache_s: float
) -> Path:
    """A smokewatch.yaml naming the seeded checks and regions, with ``api.cache`` set."""
    head = CONFIG_HEAD.format(regions=", ".join(regions), url=store_url, cache=f"{cache_s:g}s")
    path.write_text(head + "".join(CHECK.format(name=name) for name in checks))
    return path


def _pycache() -> Path:
    """A bytecode cache kept between runs (the environment may forbid writing one in the tree)."""
    cache = Path(tempfile.gettempdir()) / f"smokewatch-bench-pycache-{os.getuid()}"
    cache.mkdir(exist_ok=True)
    return cache


class Serve(_Started):
    """``smokewatch serve`` (``--no-scheduler`` unless ``scheduler``) on a free 127.0.0.1 port;
    stopped on exit."""

    def __init__(self, config: Path, *, region: str, log: Path, scheduler: bool = False) -> None:
        self.config, self.region, self.log = config, region, log
        self.scheduler = scheduler  # True: the region's checks run, as in production
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("server not started")
        return self._proc.pid

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(_pycache())
        cmd = [
            SMOKEWATCH, "serve", "--config", str(self.config),
            "--region", self.region, "--host", HOST, "--port", str(self.port),
        ]  # fmt: skip
        if not self.scheduler:
            cmd.append("--no-scheduler")
        with self.log.open("ab") as sink:
            self._proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, env=env
            )
        self._ps = psutil.Process(self._proc.pid)
        self._wait_up()

    def _wait_up(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self._proc.returncode}: {self.tail()}")
            if get(self.port, "/health")[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"serve did not answer in {START_TIMEOUT_S:g} s: {self.tail()}")

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server so far (psutil)."""
        if self._ps is None:
            raise RuntimeError("server not started")
        times = self._ps.cpu_times()
        return times.user + times.system

    def rss_bytes(self) -> int:
        if self._ps is None:
            raise RuntimeError("server not started")
        return int(self._ps.memory_info().rss)

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None
            self._ps = None


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One GET on loopback: status and body; ``(0, b"")`` if nothing answered."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()
