"""A minimal HTTP/1.1 client on raw asyncio streams, to drive servers cheaply.

It is the benchmark's own instrument, not the thing measured: it drives the
blackbox exporter's ``/probe`` endpoint over keep-alive connections (so the
driver's cost stays small, and outside the exporter's process), and it gives
the timing floor: one fresh-connection GET with nothing in the way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; the last one wins
    body: bytes


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from the servers we drive
                return b"".join(chunks)
            chunks.append((await reader.readexactly(size + 2))[:-2])
    return await reader.read()  # until the server closes


class KeepAliveConnection:
    """One persistent connection; :meth:`get` reconnects if the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> Response:
        if self._writer is None or self._reader is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n\r\n".encode())
        status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        body = await _read_body(reader, headers)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            await writer.wait_closed()


async def get_once(host: str, port: int, path: str) -> tuple[Response, float]:
    """One GET on a fresh connection; returns the response and its total time in ms."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        body = await _read_body(reader, headers)
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
    finally:
        writer.close()
        await writer.wait_closed()
    return Response(status, headers, body), elapsed_ms
