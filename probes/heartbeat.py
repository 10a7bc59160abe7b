"""The ``heartbeat`` probe: a job pings smokewatch; silence is the failure.

The job calls ``/api/v1/heartbeat/<check>/<token>`` when it succeeds (``.../start``
when it begins, ``.../fail`` when it fails).  The API records each signal in the
store, so any replica may receive it and any replica may judge it; this probe only
reads the record through the :class:`PingLedger` the service hands in as
``ctx.resources[HEARTBEAT_RESOURCE]``.  Each run judges, at that moment:

1. the job's last word was ``fail`` (newer than its last success): ``fail``,
   reason ``job_failed``, with what the job sent;
2. a run started longer than ``max_run`` ago has not ended: ``fail``, reason ``late``;
3. no success since ``period + grace`` (counted from the last success, or from when
   smokewatch began watching the check if it never had one): ``fail``, reason ``late``;
4. otherwise ``pass``, also while the first ping is not yet due.

A store that cannot be read teaches nothing about the job: ``error``, reason ``store``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from probes.base import Probe, ProbeContext, ProbeResult, Status
from probes.connection import elapsed_ms
from probes.durations import Duration, format_duration
from probes.errors import ProbeError
from probes.reasons import FailureReason

HEARTBEAT_RESOURCE: Final = "heartbeats"
Signal = Literal["start", "success", "fail"]
SIGNALS: Final[tuple[Signal, ...]] = ("start", "success", "fail")
_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,200}$")


@dataclass(frozen=True, slots=True)
class Pings:
    """What the store knows of one heartbeat check's pings (times are UTC)."""

    first_seen: datetime  # when smokewatch began watching: its first judgement or ping
    last_start: datetime | None = None
    last_success: datetime | None = None
    last_fail: datetime | None = None
    fail_message: str = ""  # what the job sent with its last fail signal


class LedgerUnavailable(ProbeError):  # noqa: N818 -- reads as a state: "the ledger is unavailable"
    """The pings could not be read (the store is down); ``str()`` says why, safely."""


@runtime_checkable
class PingLedger(Protocol):
    """Where heartbeat pings are kept; the service implements it on the result store."""

    async def pings(self, check: str, *, now: datetime) -> Pings:
        """The check's pings; the first call for a check records ``now`` as ``first_seen``.

        Raises :class:`LedgerUnavailable` when the store cannot be read.
        """


class HeartbeatSpec(BaseModel):
    """The kind-specific fields of a ``heartbeat`` check."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["heartbeat"] = Field("heartbeat", description="heartbeat")
    token: SecretStr = Field(
        description="the secret in the ping URL: 16-200 of A-Z a-z 0-9 . _ ~ -"
    )
    period: Duration = Field(description="how often the job succeeds (its schedule)")
    grace: Duration = Field(timedelta(minutes=5), description="how late a ping may be")
    max_run: Duration | None = Field(
        None, description="a started run must succeed or fail within this"
    )

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError(
                "token must be 16-200 characters of A-Z a-z 0-9 . _ ~ - (it goes in a URL)"
            )
        return value

    @field_validator("period")
    @classmethod
    def _period_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("period must be at least 1s")
        return value

    def secret_values(self) -> list[str]:
        """Values to mask wherever they would be shown: the token."""
        return [self.token.get_secret_value()]


class HeartbeatProbe:
    """Reads the pings and judges them against ``period``, ``grace`` and ``max_run``."""

    __slots__ = ()
    kind = "heartbeat"
    spec_model = HeartbeatSpec

    async def run(self, spec: HeartbeatSpec, ctx: ProbeContext) -> ProbeResult:
        ledger = ctx.resources.get(HEARTBEAT_RESOURCE)
        if not isinstance(ledger, PingLedger):
            return ProbeResult(
                Status.ERROR,
                "heartbeat checks need the result store (serve, or run --once with a store)",
                reason=FailureReason.CONFIG,
            )
        t0 = time.perf_counter()
        now = datetime.now(UTC)
        try:
            pings = await ledger.pings(ctx.check_name, now=now)
        except LedgerUnavailable as exc:
            return ProbeResult(
                Status.ERROR, f"cannot read the pings: {exc}", reason=FailureReason.STORE
            )
        result = judge(spec, pings, now)
        result.timings["total"] = elapsed_ms(t0)
        return result


def judge(spec: HeartbeatSpec, pings: Pings, now: datetime) -> ProbeResult:
    """The verdict on ``pings`` at ``now`` (see the module's rules, in order)."""
    details = _details(pings)
    timings: dict[str, float] = {}
    if pings.last_start and pings.last_success and pings.last_success >= pings.last_start:
        timings["job"] = (pings.last_success - pings.last_start).total_seconds() * 1000.0
    last_end = max((t for t in (pings.last_success, pings.last_fail) if t), default=None)
    if pings.last_fail is not None and pings.last_fail == last_end:
        said = f": {pings.fail_message}" if pings.fail_message else ""
        return _fail(
            f"the job reported failure at {_at(pings.last_fail)}{said}",
            FailureReason.JOB_FAILED,
            details,
            timings,
        )
    started = pings.last_start
    running = started is not None and (last_end is None or started > last_end)
    if running and started and spec.max_run is not None and now - started > spec.max_run:
        return _fail(
            f"the run started at {_at(started)} has not ended after "
            f"{format_duration(spec.max_run)} (max_run)",
            FailureReason.LATE,
            details,
            timings,
        )
    since = pings.last_success or pings.first_seen
    due = since + spec.period + spec.grace
    details["due_by"] = due.isoformat()
    window = f"{format_duration(spec.period)} + {format_duration(spec.grace)} grace"
    if now > due:
        if pings.last_success is None:
            message = f"no success ping since watching began at {_at(since)} ({window})"
        else:
            message = f"last success ping at {_at(since)}, {_ago(now - since)} ago ({window})"
        return _fail(message, FailureReason.LATE, details, timings)
    if pings.last_success is None:
        message = f"no ping yet; the first is due by {_at(due)}"
    else:
        message = f"last success ping {_ago(now - pings.last_success)} ago"
    return ProbeResult(Status.PASS, message, timings=timings, details=details)


def _fail(
    message: str, reason: FailureReason, details: dict[str, object], timings: dict[str, float]
) -> ProbeResult:
    return ProbeResult(Status.FAIL, message, timings=timings, details=details, reason=reason)


def _details(pings: Pings) -> dict[str, object]:
    out: dict[str, object] = {"first_seen": pings.first_seen.isoformat()}
    for name in ("last_start", "last_success", "last_fail"):
        value = getattr(pings, name)
        out[name] = value.isoformat() if value is not None else None
    if pings.fail_message:
        out["fail_message"] = pings.fail_message
    return out


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(delta: timedelta) -> str:
    return format_duration(timedelta(seconds=round(delta.total_seconds())))


PROBE: Final[Probe[HeartbeatSpec]] = HeartbeatProbe()
