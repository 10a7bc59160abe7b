"""The ``tls`` probe: a server's certificate and handshake, judged before users see them.

One handshake with the verifying context (chain to a trusted root, name matches
``server_name``).  When verification refuses the certificate, a second handshake
that trusts anything reads it, so the ``fail`` shows what was served: subject,
issuer, SANs, notAfter.  Then, on any certificate read:

* days until notAfter below ``expect.days_left`` fails (below
  ``expect.days_left_degraded`` degrades);
* a negotiated protocol older than ``expect.min_version`` fails;
* ``expect.response_time`` budgets connect + handshake, as on http.

Every one of these is the target answering badly: ``fail`` with reason ``tls``.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from probes.assertions import ResponseTime, budget_outcomes, clip
from probes.base import (
    AssertionOutcome,
    Probe,
    ProbeContext,
    ProbeResult,
    Status,
)
from probes.certificate import (
    Session,
    TlsVersionName,
    inspecting_context,
    verifying_context,
    version_at_least,
)
from probes.connection import (
    Attempt,
    Stream,
    elapsed_ms,
    open_stream,
)
from probes.reasons import FailureReason
from probes.tcp import plain_host


class TlsExpect(BaseModel):
    """What the certificate and the handshake must show."""

    model_config = ConfigDict(extra="forbid")

    trusted: bool = Field(True, description="the chain and the name must verify")
    days_left: float = Field(14, ge=0, description="fewer days until notAfter fails")
    days_left_degraded: float | None = Field(
        None, ge=0, description="fewer days until notAfter degrades"
    )
    min_version: TlsVersionName | None = Field(
        None, description="an older negotiated protocol fails"
    )
    response_time: ResponseTime | None = Field(
        None, description="a budget for connect + handshake, in ms"
    )

    @model_validator(mode="after")
    def _ordered(self) -> TlsExpect:
        if self.days_left_degraded is not None and self.days_left_degraded <= self.days_left:
            raise ValueError("days_left_degraded must be above days_left (it warns earlier)")
        return self


class TlsSpec(BaseModel):
    """The kind-specific fields of a ``tls`` check."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tls"] = Field("tls", description="tls")
    host: str = Field(min_length=1, description="a host name or IP address")
    port: int = Field(443, ge=1, le=65535, description="the TLS port (default 443)")
    server_name: str | None = Field(
        None, description="the name sent (SNI) and verified; default: host"
    )
    expect: TlsExpect = Field(
        default_factory=TlsExpect, description="what the certificate and the timings must be"
    )

    @field_validator("host")
    @classmethod
    def _host_plain(cls, value: str) -> str:
        return plain_host(value)


class TlsProbe:
    """One verifying handshake (two when it is refused), the certificate, and a result."""

    __slots__ = ()
    kind = "tls"
    spec_model = TlsSpec

    async def run(self, spec: TlsSpec, ctx: ProbeContext) -> ProbeResult:
        attempt = await Attempt.begin("tls", spec.host, spec.port, ctx)
        deadline, timings, t0 = attempt.deadline, attempt.timings, attempt.t0
        trusted = spec.expect.trusted
        context = verifying_context(ctx.tls) if trusted else inspecting_context()
        refused: str | None = None
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    stream = await _handshake(spec, context, timings, t0)
                except ssl.SSLCertVerificationError as exc:
                    timings["total"] = elapsed_ms(t0)
                    refused = clip(str(exc.verify_message or exc.reason or "verify failed"))
                    # Read what was served, for the evidence; these timings are not kept.
                    stream = await _handshake(spec, inspecting_context(), {}, t0)
        except OSError as exc:
            return attempt.not_connected(exc, tls=True)
        outcomes = _judge(spec.expect, stream.session, refused, timings["total"])
        return ProbeResult.from_assertions(outcomes, timings=timings, details=stream.details())


async def _handshake(
    spec: TlsSpec, context: ssl.SSLContext, timings: dict[str, float], t0: float
) -> Stream:
    """Connect and shake hands; ``total`` is taken before closing (not the target's time)."""
    stream = await open_stream(
        spec.host, spec.port, tls=context, server_name=spec.server_name, timings=timings
    )
    timings["total"] = elapsed_ms(t0)
    await stream.close()  # the session is read
    return stream


def _judge(
    expect: TlsExpect, session: Session | None, refused: str | None, total_ms: float
) -> list[AssertionOutcome]:
    outcomes: list[AssertionOutcome] = []
    if expect.trusted:
        outcomes.append(
            _outcome(
                "certificate trusted", refused is None, "chain and name valid", refused or "valid"
            )
        )
    certificate = session.certificate if session is not None else None
    days = certificate.days_left() if certificate is not None else None
    shown = f"{days:.1f} days left" if days is not None else "no certificate read"
    outcomes.append(
        _outcome(
            "certificate expiry",
            days is not None and days >= expect.days_left,
            f">= {expect.days_left:g} days left",
            shown,
        )
    )
    if expect.days_left_degraded is not None and days is not None and days >= expect.days_left:
        outcomes.append(
            _outcome(
                "certificate expiry",
                days >= expect.days_left_degraded,
                f">= {expect.days_left_degraded:g} days left",
                shown,
                Status.DEGRADED,
            )
        )
    if expect.min_version is not None:
        protocol = session.protocol if session is not None else None
        outcomes.append(
            _outcome(
                "protocol",
                version_at_least(protocol, expect.min_version),
                f"{expect.min_version} or newer",
                protocol or "unknown",
            )
        )
    outcomes.extend(budget_outcomes(expect.response_time, total_ms))
    return outcomes


def _outcome(
    name: str, passed: bool, expected: str, actual: str, status: Status = Status.FAIL
) -> AssertionOutcome:
    return AssertionOutcome(
        name, passed, expected, actual, status_if_failed=status, reason=FailureReason.TLS
    )


PROBE: Final[Probe[TlsSpec]] = TlsProbe()
