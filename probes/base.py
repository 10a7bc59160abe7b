"""The probe contract: what a probe is given, and what it gives back.

A probe measures one thing against a target and returns a :class:`ProbeResult`.
A failing target is data, not an exception: a probe returns ``fail`` for a
broken target and ``error`` when it could not measure at all.  Anything that
still escapes a probe is turned into an ``error`` result by the runner.

``probes/`` never imports ``monitor/``: the service core hands everything a
probe needs in through :class:`ProbeContext`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel

from probes.errors import ProbeError
from probes.reasons import FailureReason

if TYPE_CHECKING:
    import ssl  # annotations only, like httpx: ``validate`` never opens a socket

    import httpx  # annotations only: a spec model must not need httpx to load

JSONValue = Any  # a value that came out of json.loads


class Status(enum.StrEnum):
    """The outcome of one check, best to worst."""

    PASS = "pass"  # noqa: S105 -- a status, not a password; worked, within every budget
    DEGRADED = "degraded"  # worked, but over a ``degraded`` budget
    FAIL = "fail"  # the target is broken
    ERROR = "error"  # the probe could not run (bad config, no browser, a bug)
    # Never returned by a probe: the monitor stores a result as suspect when its region's
    # control check was failing (the monitor's own network, not the target, is in doubt).
    SUSPECT = "suspect"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def ok(self) -> bool:
        """Pass and degraded count as up; fail and error as down."""
        return self in (Status.PASS, Status.DEGRADED)

    @property
    def measured(self) -> bool:
        """Pass, degraded and fail say something about the target; error and suspect do not."""
        return self not in (Status.ERROR, Status.SUSPECT)

    @staticmethod
    def worst(*statuses: Status) -> Status:
        return max(statuses, key=lambda s: s.rank, default=Status.PASS)


_RANK = {
    Status.PASS: 0,
    Status.DEGRADED: 1,
    Status.FAIL: 2,
    Status.ERROR: 3,
    Status.SUSPECT: 4,
}


@dataclass(frozen=True, slots=True)
class AssertionOutcome:
    """One assertion's verdict, phrased for a human reading a result."""

    name: str  # e.g. "status", "json $.status equals", "header X-RateLimit-Limit present"
    passed: bool
    expected: str
    actual: str
    # A failed assertion usually means ``fail``; an over-``degraded``-budget one means
    # ``degraded``.  The probe decides; the outcome records which.
    status_if_failed: Status = Status.FAIL
    # Why the check fails when this outcome decides it (README, "Failure reasons").
    reason: FailureReason = FailureReason.ASSERTION
    # A time budget's outcome: how far the measurement was over its limit (negative:
    # under).  The runner measures again when its own hold-up could explain the excess.
    over_ms: float | None = None

    @property
    def fails(self) -> bool:
        """Whether it fails the check (an over-``degraded``-budget one only degrades it)."""
        return not self.passed and self.status_if_failed.rank >= Status.FAIL.rank


@dataclass(frozen=True, slots=True)
class Attachment:
    """Evidence kept with a failed result (``response.txt``): its bytes, in memory.

    The monitor stores it as an artifact of the result, after redacting it.
    """

    name: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ProbeResult:
    """What one attempt of one probe found.

    ``timings`` are milliseconds by phase (``total`` always; HTTP adds ``connect``,
    ``tls``, ``request``, ``first_byte``, ``transfer``; browsers add ``ttfb``,
    ``dcl``, ``load``, ``lcp``).  ``transient`` says a retry might help
    (connection error, timeout, 5xx, 429); an assertion failing on a 200 is not.
    A probe that failed without any response says why in ``details["cause"]``:
    :func:`failure_cause` gives ``"timeout"`` or ``"connection"``.  Every ``fail``
    and ``error`` carries one ``reason`` (:class:`FailureReason`); ``pass`` and
    ``degraded`` carry none.
    """

    status: Status
    message: str
    timings: dict[str, float] = field(default_factory=dict)
    assertions: list[AssertionOutcome] = field(default_factory=list)
    details: dict[str, JSONValue] = field(default_factory=dict)
    transient: bool = False
    retry_after_s: float | None = None
    artifacts: list[str] = field(default_factory=list)  # files on disk (browser)
    attachments: list[Attachment] = field(default_factory=list)  # in memory (HTTP excerpt)
    reason: FailureReason | None = None

    @classmethod
    def from_assertions(
        cls,
        assertions: list[AssertionOutcome],
        *,
        timings: dict[str, float] | None = None,
        details: dict[str, JSONValue] | None = None,
        transient: bool = False,
        retry_after_s: float | None = None,
    ) -> ProbeResult:
        """Derive status and message from assertion outcomes: the worst failure wins."""
        failed = [a for a in assertions if not a.passed]
        status = Status.worst(*(a.status_if_failed for a in failed))
        reason = None
        if failed:
            first = next(a for a in failed if a.status_if_failed == status)
            message = f"{first.name}: expected {first.expected}, got {first.actual}"
            if len(failed) > 1:
                message += f" (and {len(failed) - 1} more)"
            reason = None if status.ok else first.reason
        else:
            message = "ok"
        return cls(
            status=status,
            message=message,
            timings=timings or {},
            assertions=assertions,
            details=details or {},
            transient=transient,
            retry_after_s=retry_after_s,
            reason=reason,
        )


class GateClosed(ProbeError):  # noqa: N818 -- reads as a state: "the gate is closed"
    """Raised by a gate when a host's request budget cannot admit a request in time."""


def failure_cause(*, timed_out: bool) -> str:
    """The ``details["cause"]`` of a failure that got no response (retry policy reads it)."""
    return "timeout" if timed_out else "connection"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_of(url: str) -> str:
    """The origin ``scheme://host:port`` of ``url``: the key a request gate budgets by."""
    parsed = urlsplit(url)
    scheme = parsed.scheme.lower()
    host = (parsed.hostname or "").lower()
    port = parsed.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


class RequestGate(Protocol):
    """Admits one outgoing request to a host, waiting as long as the host's budget needs."""

    async def acquire(self, host: str) -> None:
        """Wait for an origin's (:func:`origin_of`) budget; raise :class:`GateClosed` if none."""

    def observe(self, host: str, response: httpx.Response) -> None:
        """Learn from a response: rate-limit headers, 429 and ``Retry-After``."""


class _OpenGate:
    """A gate that never waits: for probes run outside the service (tests, benchmarks)."""

    async def acquire(self, host: str) -> None:
        return None

    def observe(self, host: str, response: httpx.Response) -> None:
        return None


OPEN_GATE: RequestGate = _OpenGate()


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """Everything a probe may use, handed in by the service core.

    ``client`` is shared across probes (one SSL context, one pool); probes must not
    build their own.  ``headers`` mark synthetic traffic and go on every request.
    ``gate`` keeps the monitor under the target's rate limit.  ``deadline_s`` is the
    time this attempt may take; the runner also enforces it from outside.
    ``resources`` carries optional shared objects by name (the browser pool).
    ``tls`` is the shared client's verifying TLS context, for probes that open their
    own sockets (``tcp``, ``tls``); ``None`` (tests, benchmarks) makes them build the
    system default, which costs ~150 ms of CPU each time.
    """

    client: httpx.AsyncClient
    headers: Mapping[str, str] = field(default_factory=dict)
    gate: RequestGate = OPEN_GATE
    deadline_s: float = 30.0
    check_name: str = ""
    region: str = "local"
    resources: Mapping[str, object] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None


SpecT = TypeVar("SpecT", bound=BaseModel)


@runtime_checkable
class SpecSecrets(Protocol):
    """A spec whose own fields hold secrets (a heartbeat's token): the loader adds them to
    the values masked everywhere (logs, results, API errors)."""

    def secret_values(self) -> list[str]: ...


class Probe(Protocol[SpecT]):
    """A kind of check.  One module in ``probes/`` each, registered in ``probes.PROBES``.

    ``spec_model`` is the pydantic model of the check's kind-specific fields; it
    carries ``kind: Literal[<kind>]`` and ``model_config = ConfigDict(extra="forbid")``.
    The service core adds the common fields (name, interval, timeout, retries,
    regions) around it.
    """

    kind: str
    spec_model: type[SpecT]

    async def run(self, spec: SpecT, ctx: ProbeContext) -> ProbeResult: ...
