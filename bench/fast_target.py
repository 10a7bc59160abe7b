"""A tiny HTTP/1.1 target for benchmarks: ``python -m bench.fast_target --port 0``.

Raw asyncio protocol, no framework, so the target costs far less CPU than the
probes it serves and never becomes the bottleneck.  Every response closes the
connection (the probes under test open a fresh one each time anyway).

``GET /fast``            200 ``ok``
``GET /delay?ms=N``      200 after N ms, held with ``time.sleep`` in a worker
                         thread (~0.1 ms precise; an asyncio timer rounds up to
                         the next whole millisecond).  ``X-Held-Us`` says how
                         long the response was actually held, in microseconds.

Prints ``PORT <n>`` on stdout once listening; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

_MAX_HEAD = 16_384


def _response(status: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_FAST = _response("200 OK", b"ok")
_NOT_FOUND = _response("404 Not Found", b"not found")
_BAD = _response("400 Bad Request", b"bad request")


class _Conn(asyncio.Protocol):
    __slots__ = ("_buf", "_executor", "_transport")

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self._executor = executor
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEAD:
                self._reply(_BAD)
            return
        received = time.perf_counter()
        line = self._buf[: self._buf.find(b"\r\n")].decode("latin-1")
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
            self._reply(_BAD)
            return
        url = urlsplit(parts[1])
        if url.path == "/fast":
            self._reply(_FAST)
        elif url.path == "/delay":
            try:
                ms = int(parse_qs(url.query).get("ms", ["0"])[0])
            except ValueError:
                self._reply(_BAD)
                return
            asyncio.get_running_loop().create_task(self._delayed(ms, received))
        else:
            self._reply(_NOT_FOUND)

    async def _delayed(self, ms: int, received: float) -> None:
        if ms > 0:
            await asyncio.get_running_loop().run_in_executor(self._executor, _hold, received, ms)
        held_us = round((time.perf_counter() - received) * 1e6)
        self._reply(_response("200 OK", b"ok", f"X-Held-Us: {held_us}\r\n"))

    def _reply(self, payload: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(payload)
            transport.close()
        self._transport = None


def _hold(received: float, ms: int) -> None:
    time.sleep(max(0.0, received + ms / 1000 - time.perf_counter()))


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="hold") as executor:
        server = await loop.create_server(lambda: _Conn(executor), host, port, backlog=1024)
        bound = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"PORT {bound}\n")
        sys.stdout.flush()
        async with server:
            await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
