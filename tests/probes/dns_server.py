"""A small authoritative DNS server on 127.0.0.1 (UDP and TCP, one port), for the dns tests.

Built from dnspython's message pieces in the test's own event loop.  It answers the
names in :data:`ZONE` with the AA flag, NXDOMAIN for any other name, SERVFAIL for
``broken.example.test``, and nothing at all for ``slow.example.test``.  Over UDP an
answer larger than 512 bytes comes back truncated (TC), as a real server's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

ZONE: dict[tuple[str, str], list[str]] = {
    ("www.example.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("www.example.test.", "AAAA"): ["2001:db8::10"],
    ("example.test.", "MX"): ["10 mail.example.test.", "20 backup.example.test."],
    ("example.test.", "TXT"): ['"v=spf1 -all"'],
    ("big.example.test.", "A"): [f"198.51.100.{i}" for i in range(1, 61)],
}
SILENT = "slow.example.test."
BROKEN = "broken.example.test."
_UDP_LIMIT = 512


class DnsServer:
    """Serves :data:`ZONE`; ``queries`` lists ``(transport, name, type)`` as they arrive."""

    def __init__(self) -> None:
        self.port = 0
        self.queries: list[tuple[str, str, str]] = []

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name, rdtype = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
        self.queries.append((transport, name, rdtype))
        if name == SILENT:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name == BROKEN:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif not any(owner == name for owner, _ in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif (name, rdtype) in ZONE:
            response.answer.append(
                dns.rrset.from_text(name, 300, "IN", rdtype, *ZONE[name, rdtype])
            )
        if transport == "tcp":
            return response.to_wire()
        try:
            return response.to_wire(max_size=_UDP_LIMIT)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
            reply = self.answer(await reader.readexactly(size), "tcp")
            if reply is not None:
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[DnsServer]:
        loop = asyncio.get_running_loop()
        tcp = await asyncio.start_server(self._tcp, "127.0.0.1", 0)
        self.port = tcp.sockets[0].getsockname()[1]
        udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=("127.0.0.1", self.port)
        )
        try:
            async with tcp:
                yield self
                tcp.close()
        finally:
            udp.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
