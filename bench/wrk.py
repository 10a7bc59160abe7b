"""Debian's ``wrk`` (closed loop: saturation throughput) run and its ``--latency`` output parsed.

    result = run_wrk("http://127.0.0.1:8080/api/v1/status", seconds=10, connections=8)
    result.rps, result.p50_ms, result.p99_ms

wrk cannot hold a fixed rate (each connection sends its next request when the last
one is answered), so its latencies are those of a saturated server: read them as
"how it behaves flat out", and take latency at a given rate from ``bench.openloop``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

WRK = "/usr/bin/wrk"
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.MULTILINE)
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_MAX = re.compile(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m|h)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def version() -> str:
    out = subprocess.run([WRK, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split("Copyright")[0].strip() if first else "unknown"


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 8,
    threads: int = 1,
    headers: tuple[str, ...] = (),
) -> WrkResult:
    """Run wrk with ``--latency`` against ``url``; ``RuntimeError`` with its output if it fails."""
    cmd = [
        WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--latency", "--timeout", "10s",
    ]  # fmt: skip
    for header in headers:
        cmd += ["-H", header]
    done = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=False, timeout=seconds + 30
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)


def parse(text: str) -> WrkResult:
    """The figures of one ``wrk --latency`` report."""
    percentiles = {int(p): float(v) * _UNITS_MS[unit] for p, v, unit in _PERCENTILE.findall(text)}
    total, rps, peak = _TOTAL.search(text), _RPS.search(text), _MAX.search(text)
    if total is None or rps is None or peak is None or len(percentiles) != 4:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    non_2xx = _NON_2XX.search(text)
    sockets = _SOCKET.search(text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        max_ms=float(peak.group(1)) * _UNITS_MS[peak.group(2)],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )
