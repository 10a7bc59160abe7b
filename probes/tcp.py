"""The ``tcp`` probe: connect to a port, optionally over TLS, optionally send and expect.

A check passes when the connection (and the TLS handshake, with ``tls: true``) is
made and, if ``expect`` names a reply, the bytes received match it before the
timeout, the peer closing, or ``max_bytes``.  Servers that speak first (SMTP, SSH,
Redis' ``-ERR``) need no ``send``: the greeting is the reply.

Verdicts: refused, unreachable, reset, an untrusted certificate, no reply in time
and a reply that does not match are all ``fail`` (the target answered badly or not
at all); only a check that cannot run as configured is ``error``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from probes.assertions import Regex, ResponseTime, budget_outcomes, clip
from probes.base import AssertionOutcome, Probe, ProbeContext, ProbeResult
from probes.certificate import verifying_context
from probes.connection import (
    Attempt,
    Stream,
    connection_failure,
    elapsed_ms,
    open_stream,
)
from probes.reasons import FailureReason

DEFAULT_MAX_BYTES: Final = 65_536
_SHOWN_BYTES: Final = 80


def _hex_field(field: str) -> Any:
    """A validator: ``field`` holds hex bytes (``0d0a``; spaces allowed) or is unset."""

    def check(cls: type, value: str | None) -> str | None:
        if value is not None:
            try:
                bytes.fromhex(value)
            except ValueError:
                message = f"not hex bytes: {clip(value)!r} (write pairs like '0d0a')"
                raise ValueError(message) from None
        return value

    return field_validator(field)(classmethod(check))


def plain_host(value: str) -> str:
    """A bare host name or IP address (IPv6 with or without brackets); ``ValueError`` if not."""
    host = value.strip("[]")
    if re.search(r"[\s/@]", host) or (":" in host and not _is_ipv6(host)):
        raise ValueError(
            f"host {clip(value)!r} must be a bare host name or IP address "
            "(no scheme, port or path: the port has its own field)"
        )
    return host


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


class TcpExpect(BaseModel):
    """What the reply must hold; every condition given must hold."""

    model_config = ConfigDict(extra="forbid")

    contains: str | None = Field(None, description="text the reply must contain (UTF-8)")
    contains_hex: str | None = Field(None, description="bytes the reply must contain, as hex")
    matches: Regex | None = Field(None, description="a regex the reply (as UTF-8 text) matches")
    response_time: ResponseTime | None = Field(
        None, description="a budget for the whole exchange (total), in ms"
    )

    _contains_hex = _hex_field("contains_hex")

    @property
    def wants_reply(self) -> bool:
        return (self.contains, self.contains_hex, self.matches) != (None, None, None)

    def describe(self) -> str:
        parts = (
            f"contains {self.contains!r}" if self.contains is not None else "",
            f"contains hex {self.contains_hex}" if self.contains_hex is not None else "",
            f"matches /{self.matches.pattern}/" if self.matches is not None else "",
        )
        return " and ".join(p for p in parts if p)

    def satisfied_by(self, reply: bytes) -> bool:
        text = reply.decode("utf-8", "replace")
        return (
            (self.contains is None or self.contains in text)
            and (self.contains_hex is None or bytes.fromhex(self.contains_hex) in reply)
            and (self.matches is None or self.matches.search(text) is not None)
        )


class TcpSpec(BaseModel):
    """The kind-specific fields of a ``tcp`` check."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tcp"] = Field("tcp", description="tcp")
    host: str = Field(min_length=1, description="a host name or IP address")
    port: int = Field(ge=1, le=65535, description="the TCP port to connect to")
    tls: bool = Field(False, description="start TLS after connecting (certificate verified)")
    server_name: str | None = Field(
        None, description="TLS: the name sent (SNI) and verified; default: host"
    )
    send: str | None = Field(None, description="text to send once connected (UTF-8)")
    send_hex: str | None = Field(None, description="bytes to send once connected, as hex")
    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1, description="read at most this much reply")
    expect: TcpExpect = Field(
        default_factory=TcpExpect, description="what the reply and the timings must be"
    )

    _send_hex = _hex_field("send_hex")

    @field_validator("host")
    @classmethod
    def _host_plain(cls, value: str) -> str:
        return plain_host(value)

    @model_validator(mode="after")
    def _consistent(self) -> TcpSpec:
        if self.send is not None and self.send_hex is not None:
            raise ValueError("give send or send_hex, not both")
        if self.server_name is not None and not self.tls:
            raise ValueError("server_name needs tls: true")
        return self

    def payload(self) -> bytes | None:
        if self.send_hex is not None:
            return bytes.fromhex(self.send_hex)
        return self.send.encode() if self.send is not None else None


class TcpProbe:
    """One connection, an optional exchange, and a result."""

    __slots__ = ()
    kind = "tcp"
    spec_model = TcpSpec

    async def run(self, spec: TcpSpec, ctx: ProbeContext) -> ProbeResult:
        attempt = await Attempt.begin("tcp", spec.host, spec.port, ctx)
        deadline, timings, t0 = attempt.deadline, attempt.timings, attempt.t0
        try:
            async with asyncio.timeout_at(deadline):
                stream = await open_stream(
                    spec.host,
                    spec.port,
                    tls=verifying_context(ctx.tls) if spec.tls else None,
                    server_name=spec.server_name,
                    timings=timings,
                )
        except OSError as exc:
            return attempt.not_connected(exc, tls=spec.tls)
        try:
            payload = spec.payload()
            if payload is not None:
                try:
                    async with asyncio.timeout_at(deadline):
                        stream.writer.write(payload)
                        await stream.writer.drain()
                except OSError as exc:
                    timings["total"] = elapsed_ms(t0)
                    return connection_failure(
                        exc, timings, doing="sending", timeout_s=ctx.deadline_s
                    )
            outcomes = await _exchange(spec, stream, timings, deadline)
            timings["total"] = elapsed_ms(t0)  # closing is not the target's time
        finally:
            await stream.close()
        outcomes.extend(budget_outcomes(spec.expect.response_time, timings["total"]))
        return ProbeResult.from_assertions(outcomes, timings=timings, details=stream.details())


async def _exchange(
    spec: TcpSpec, stream: Stream, timings: dict[str, float], deadline: float
) -> list[AssertionOutcome]:
    """Read until the reply satisfies ``expect``, the peer closes, the cap or the time is up."""
    expect = spec.expect
    if not expect.wants_reply:
        return []
    reply = b""
    t0 = time.perf_counter()
    ending = ""
    try:
        async with asyncio.timeout_at(deadline):
            while len(reply) < spec.max_bytes and not expect.satisfied_by(reply):
                chunk = await stream.reader.read(spec.max_bytes - len(reply))
                if not chunk:
                    ending = " (connection closed)"
                    break
                if not reply:
                    timings["first_byte"] = elapsed_ms(t0)
                reply += chunk
    except TimeoutError:  # an OSError too: first
        ending = " (timed out)"
    except OSError as exc:
        ending = f" (connection lost: {type(exc).__name__})"
    passed = expect.satisfied_by(reply)
    actual = _shown(reply) + ("" if passed else ending)
    reason = FailureReason.CONTENT
    if not reply:
        # Silence is a timeout; a peer hanging up without a word is a lost connection.
        reason = FailureReason.TIMEOUT if ending == " (timed out)" else FailureReason.CONNECT
    return [AssertionOutcome("reply", passed, expect.describe(), actual, reason=reason)]


def _shown(reply: bytes) -> str:
    if not reply:
        return "no reply"
    text = reply[:_SHOWN_BYTES].decode("utf-8", "backslashreplace")
    more = f" (+{len(reply) - _SHOWN_BYTES} bytes)" if len(reply) > _SHOWN_BYTES else ""
    return repr(text) + more


PROBE: Final[Probe[TcpSpec]] = TcpProbe()
