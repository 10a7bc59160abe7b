"""A raw TCP connection, optionally with TLS, for probes that speak no HTTP (tcp, tls).

:func:`open_stream` times ``connect`` (the name lookup included) and ``tls``
separately into the caller's ``timings`` dict, so a failure still reports how far
it got.  :func:`connection_failure` turns what it raises into a ``fail`` result
with the same reasons, messages and retry hints as the http probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Final

from probes.assertions import clip
from probes.base import ProbeContext, ProbeResult, Status, failure_cause, origin_of
from probes.certificate import Session
from probes.reasons import FailureReason, from_os_error

_CLOSE_TIMEOUT_S: Final = 1.0  # closing is not measured; do not wait long for the peer
# The probe's own deadline sits this much before the runner's, so a slow target ends in
# the probe's result (with what was received so far) rather than the runner's bare timeout.
_DEADLINE_MARGIN_S: Final = 0.05


def probe_deadline(deadline_s: float) -> float:
    """The seconds a probe gives itself: a little under the runner's hard timeout."""
    return max(deadline_s - _DEADLINE_MARGIN_S, deadline_s * 0.9)


def netloc(host: str, port: int) -> str:
    """``host:port``, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000.0, 3)


@dataclass(slots=True)
class Stream:
    """An open connection: its streams, the peer's address and the TLS session, if any."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: str
    session: Session | None

    def details(self) -> dict[str, object]:
        """``address``, and with TLS ``tls`` (session, certificate) and ``tls_days_left``."""
        out: dict[str, object] = {"address": self.address}
        if self.session is not None:
            out["tls"] = self.session.details()
            if self.session.certificate is not None:
                out["tls_days_left"] = self.session.certificate.days_left()
        return out

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await self.writer.wait_closed()


async def open_stream(
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None,
    server_name: str | None,
    timings: dict[str, float],
) -> Stream:
    """Connect (then handshake, with ``tls``), filling ``timings`` as each phase ends."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    timings["connect"] = elapsed_ms(t0)
    peer = writer.get_extra_info("peername")
    address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else f"{host}:{port}"
    if tls is None:
        return Stream(reader, writer, address, None)
    t1 = time.perf_counter()
    try:
        await writer.start_tls(tls, server_hostname=server_name or host)
    except BaseException:
        writer.transport.abort()
        raise
    timings["tls"] = elapsed_ms(t1)
    ssl_object = writer.get_extra_info("ssl_object")
    session = Session.of(ssl_object) if isinstance(ssl_object, ssl.SSLObject) else None
    return Stream(reader, writer, address, session)


def os_cause(exc: BaseException) -> tuple[str, bool] | None:
    """Name the socket or TLS error in ``exc``'s cause chain: ``(message, transient)``."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", True
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed", True
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "verify failed"
            return f"TLS certificate not trusted: {clip(str(reason))}", False
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {clip(str(cause.reason or cause))}", True
        cause = cause.__cause__ or cause.__context__
    return None


def connection_failure(
    exc: OSError, timings: dict[str, float], *, doing: str, timeout_s: float
) -> ProbeResult:
    """A ``fail`` for a connection that could not be made or broke: the target's fault.

    ``doing`` says where it stopped ("connecting", "in the TLS handshake", ...).
    """
    if isinstance(exc, TimeoutError):  # an OSError too: first
        message, transient, reason = (
            f"timed out after {timeout_s:g} s ({doing})",
            True,
            FailureReason.TIMEOUT,
        )
    else:
        message, transient = os_cause(exc) or (
            f"connection failed ({doing}): {type(exc).__name__}: {clip(str(exc))}",
            True,
        )
        reason = from_os_error(exc) or FailureReason.CONNECT
    return ProbeResult(
        Status.FAIL,
        message,
        timings=timings,
        transient=transient,
        # A certificate that is not trusted is an answer (a bad one), not a lost connection.
        details={"cause": failure_cause(timed_out=reason is FailureReason.TIMEOUT)}
        if transient
        else {},
        reason=reason,
    )


@dataclass(slots=True)
class Attempt:
    """One run of a connection probe (tcp, tls): its deadline, its timings and its clock.

    :meth:`begin` waits for the origin's request budget first, then starts the clock.
    """

    deadline: float
    timeout_s: float
    timings: dict[str, float] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)

    @classmethod
    async def begin(cls, scheme: str, host: str, port: int, ctx: ProbeContext) -> Attempt:
        """Wait for ``scheme://host:port``'s budget; the attempt's clock starts after it."""
        await ctx.gate.acquire(origin_of(f"{scheme}://{netloc(host, port)}"))
        deadline = asyncio.get_running_loop().time() + probe_deadline(ctx.deadline_s)
        return cls(deadline, ctx.deadline_s)

    def not_connected(self, exc: OSError, *, tls: bool) -> ProbeResult:
        """The ``fail`` of a connection that was not made, saying how far it got."""
        doing = "in the TLS handshake" if tls and "connect" in self.timings else "connecting"
        self.timings["total"] = elapsed_ms(self.t0)
        return connection_failure(exc, self.timings, doing=doing, timeout_s=self.timeout_s)
