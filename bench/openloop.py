"""An open-loop HTTP load generator: GETs at a fixed rate, latency from the scheduled start.

``python -m bench.openloop --port 8080 --path /api/v1/status --rate 500 --duration 10``

Request ``i`` is due at ``start + i / rate`` whether or not earlier ones have
finished (open loop).  It goes out on an idle keep-alive connection, or waits in a
FIFO queue for the next one to free up; its latency runs from the moment it was
due to the last byte of its response, so time spent queued (behind a slow server or
behind this process) is counted, as in wrk2: coordinated omission cannot hide it.
``lag`` is how late the dispatcher itself sent requests that found a free connection:
the instrument's own error, already included in the latencies.

Prints one JSON object on stdout (see :class:`Outcome`).  ``--floor`` instead runs a
trivial keep-alive responder (raw asyncio) and prints ``PORT <n>``: the generator
against it gives the floor of the method on this machine.

Raw asyncio protocols, no HTTP library: the generator must cost far less than the
server it drives (about 30 us a request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field

HOST = "127.0.0.1"
_HEAD_END = b"\r\n\r\n"


@dataclass(slots=True)
class Outcome:
    scheduled: int = 0  # requests due during the run
    completed: int = 0  # answered (any status)
    non_2xx: int = 0
    errors: int = 0  # connection lost with a request in flight
    unfinished: int = 0  # still queued or in flight when the drain ended
    elapsed_s: float = 0.0  # from the first due time to the last answer
    latencies_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        lat = sorted(self.latencies_ms)
        lag = sorted(self.lag_ms)
        out: dict[str, float | int] = {
            k: v for k, v in asdict(self).items() if k not in ("latencies_ms", "lag_ms")
        }
        out["achieved_rps"] = self.completed / self.elapsed_s if self.elapsed_s else 0.0
        for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)):
            out[f"{name}_ms"] = rank(lat, q)
        out["max_ms"] = lat[-1] if lat else float("nan")
        out["lag_p99_ms"] = rank(lag, 0.99)
        out["lag_max_ms"] = lag[-1] if lag else float("nan")
        return out


def rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN if empty)."""
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))]


def response_length(buf: bytearray) -> tuple[int, int] | None:
    """``(status, bytes)`` of the complete response at the start of ``buf``; ``None`` if partial.

    Knows Content-Length and chunked bodies (no trailers), which is all uvicorn sends.
    """
    end = buf.find(_HEAD_END)
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").lower().split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    body = end + 4
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            total = body + int(value)
            return (status, total) if len(buf) >= total else None
        if name.strip() == "transfer-encoding" and "chunked" in value:
            return _chunked(buf, body, status)
    return status, body  # no body (we never see a close-delimited one from uvicorn)


def _chunked(buf: bytearray, at: int, status: int) -> tuple[int, int] | None:
    while True:
        eol = buf.find(b"\r\n", at)
        if eol < 0:
            return None
        size = int(bytes(buf[at:eol]).split(b";")[0], 16)
        at = eol + 2 + size + 2
        if len(buf) < at:
            return None
        if size == 0:
            return status, at


class _Conn(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, gen: _Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.due: float | None = None  # the request in flight: when it was due

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        done = response_length(self.buf)
        if done is None:
            return
        status, length = done
        del self.buf[:length]
        due, self.due = self.due, None
        if due is not None:
            self.gen.answered(self, due, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.gen.lost(self)


class _Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.request = (
            f"GET {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\n"
            + "".join(f"{h}\r\n" for h in args.header)
            + "\r\n"
        ).encode("latin-1")
        self.out = Outcome()
        self.idle: deque[_Conn] = deque()
        self.waiting: deque[float] = deque()  # due times of requests without a connection
        self.closing = False
        self.last_answer = 0.0
        self.start = 0.0
        self.settled = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()  # reconnections going

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), HOST, self.args.port)
        except OSError:
            await asyncio.sleep(0.05)  # the server is overwhelmed: try again shortly
            self.reconnect()
            return
        self.free(conn)

    def dispatch(self, due: float) -> None:
        self.out.scheduled += 1
        if self.idle:
            self.out.lag_ms.append((time.perf_counter() - due) * 1000)
            self.idle.popleft().send(due)  # FIFO: every connection stays warm
        else:
            self.waiting.append(due)

    def free(self, conn: _Conn) -> None:
        if self.waiting:
            conn.send(self.waiting.popleft())
        else:
            self.idle.append(conn)
        self._check_settled()

    def answered(self, conn: _Conn, due: float, status: int) -> None:
        now = time.perf_counter()
        self.out.completed += 1
        self.out.latencies_ms.append((now - due) * 1000)
        self.last_answer = now
        if not 200 <= status < 300:
            self.out.non_2xx += 1
        self.free(conn)

    def lost(self, conn: _Conn) -> None:
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.due is not None:
            self.out.errors += 1
            conn.due = None
        self.reconnect()  # the server closed a keep-alive connection: open another
        self._check_settled()

    def reconnect(self) -> None:
        if not self.closing:
            task = asyncio.get_running_loop().create_task(self.connect())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _check_settled(self) -> None:
        if self.out.scheduled == self.total and not self.waiting and not self._in_flight():
            self.settled.set()

    def _in_flight(self) -> int:
        return self.out.scheduled - self.out.completed - self.out.errors - len(self.waiting)

    @property
    def total(self) -> int:
        return round(float(self.args.rate) * float(self.args.duration))

    async def run(self) -> Outcome:
        for _ in range(self.args.connections):
            await self.connect()
        if not self.idle:
            raise SystemExit(f"cannot connect to {HOST}:{self.args.port}")
        interval = 1.0 / self.args.rate
        self.start = start = time.perf_counter() + 0.05
        i = 0
        while i < self.total:
            now = time.perf_counter()
            due = start + i * interval
            if due > now:
                await asyncio.sleep(due - now)
                now = time.perf_counter()
            while i < self.total and start + i * interval <= now:
                self.dispatch(start + i * interval)
                i += 1
        self._check_settled()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settled.wait(), self.args.drain)
        self.closing = True
        self.out.unfinished = self.total - self.out.completed - self.out.errors
        self.out.elapsed_s = max(self.last_answer, start + self.args.duration) - start
        for conn in list(self.idle):
            if conn.transport is not None:
                conn.transport.close()
        return self.out


class _Floor(asyncio.Protocol):
    """A trivial keep-alive responder: answers every request head with a fixed 200."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(_HEAD_END)) >= 0:
            self.buf = self.buf[end + 4 :]
            self.transport.write(self.ANSWER)


async def serve_floor() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Floor, HOST, 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of scheduling")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait at the end")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--floor", action="store_true", help="serve the floor responder instead")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.floor:
        asyncio.run(serve_floor())
        return
    outcome = asyncio.run(_Generator(args).run())
    json.dump(outcome.summary(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
