"""The processes a benchmark runs beside itself: a target and the blackbox exporter.

Each runs in its own process on 127.0.0.1, so its CPU can be read from
``/proc/<pid>/stat`` and kept apart from the benchmark process's own.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
EXPORTER = "/usr/bin/prometheus-blackbox-exporter"
_TICKS = os.sysconf("SC_CLK_TCK")

EXPORTER_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""

TargetKind = Literal["tiny", "demo"]

# ``smokewatch ARGS`` as the installed command runs it, for ``python -c CLI_CODE ARGS``: the
# console script's entry point (pyproject.toml), in the checkout on PYTHONPATH; a checkout
# from before that entry (monitor.cli.entry) ran the commands' own main.
CLI_CODE = (
    "import sys\n"
    "try:\n"
    "    from monitor.cli.entry import main\n"
    "except ModuleNotFoundError:\n"
    "    from monitor.cli.commands import main\n"
    "sys.argv[0] = 'smokewatch'\n"
    "main()\n"
)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc`` (10 ms resolution)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(port: int, path: str, timeout_s: float = 15.0) -> None:
    """Poll ``GET path`` on loopback until it answers 200; ``RuntimeError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{HOST}:{port}{path} did not come up in {timeout_s:g} s")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class _Started:
    """A process wrapper used as a context manager: started on entry, always stopped on exit."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Target(_Started):
    """The HTTP target in a subprocess: ``tiny`` (bench.fast_target) or ``demo`` (FastAPI)."""

    def __init__(self, kind: TargetKind) -> None:
        self.kind = kind
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("target not started")
        return self._proc.pid

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        if self.kind == "tiny":
            cmd = [sys.executable, "-m", "bench.fast_target", "--port", "0"]
            self._proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE)
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().decode().split()
            if len(line) != 2 or line[0] != "PORT":
                _stop(self._proc)
                raise RuntimeError(f"bench.fast_target did not report its port: {line!r}")
            self.port = int(line[1])
        else:
            self.port = free_port()
            cmd = [sys.executable, "-m", "examples.demo_target", "--port", str(self.port)]
            self._proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        wait_until_up(self.port, "/fast")

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None


class Exporter(_Started):
    """The blackbox exporter with a temporary ``http_2xx`` config on a free loopback port."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("exporter not started")
        return self._proc.pid

    @staticmethod
    def version() -> str:
        out = subprocess.run(
            [EXPORTER, "--version"], capture_output=True, text=True, check=False, timeout=10
        )
        first = (out.stdout or out.stderr).splitlines()
        return first[0].strip() if first else "unknown"

    def start(self) -> None:
        if not Path(EXPORTER).exists():
            raise RuntimeError(f"{EXPORTER} not found (apt install prometheus-blackbox-exporter)")
        self._dir = tempfile.mkdtemp(prefix="bench-blackbox-")
        config = Path(self._dir, "blackbox.yml")
        config.write_text(EXPORTER_CONFIG)
        self.port = free_port()
        cmd = [
            EXPORTER,
            f"--config.file={config}",
            f"--web.listen-address={HOST}:{self.port}",
            "--log.level=warn",
        ]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_up(self.port, "/-/healthy")

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
