"""Real TCP and TLS servers on 127.0.0.1 for the tcp and tls probe tests.

A :class:`LineServer` runs in the test's own event loop (``asyncio.start_server``):
it may greet, answers ``PING`` with ``+PONG``, echoes anything else, and can be told
to stay silent or hang up at once.  With a server-side SSL context it speaks TLS,
with whatever ``trustme`` certificate the test issued (valid, expired, wrong host).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import trustme

Mode = Literal["answer", "silent", "hangup"]


class LineServer:
    """One listening socket; ``port`` is set once it is serving."""

    def __init__(
        self, *, greeting: bytes = b"", mode: Mode = "answer", tls: ssl.SSLContext | None = None
    ) -> None:
        self.greeting = greeting
        self.mode = mode
        self.tls = tls
        self.port = 0
        self.received: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.mode == "hangup":
                return
            if self.mode == "silent":
                await reader.read()  # until the client gives up
                return
            if self.greeting:
                writer.write(self.greeting)
                await writer.drain()
            while line := await reader.readline():
                self.received.append(line)
                writer.write(b"+PONG\r\n" if line.strip() == b"PING" else line)
                await writer.drain()
        except (OSError, ssl.SSLError):
            pass  # the client hung up or refused our certificate: its business
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[LineServer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
            server.close()


def server_context(
    ca: trustme.CA,
    *names: str,
    days: float = 30,
    expired: bool = False,
    maximum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A server-side context with a certificate from ``ca`` for ``names``.

    ``days`` from now until it expires, or (``expired``) one that expired yesterday.
    ``maximum`` caps the protocol the server will speak.
    """
    now = datetime.now(UTC)
    if expired:
        cert = ca.issue_cert(
            *names, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
        )
    else:
        cert = ca.issue_cert(*names, not_after=now + timedelta(days=days))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    if maximum is not None:
        context.maximum_version = maximum
    return context
