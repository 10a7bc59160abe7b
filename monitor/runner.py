"""Run checks: a hard timeout per attempt, retries with backoff, redaction, never a crash.

One code path serves ``check``, ``run --once`` and the scheduler.  For each check:

1. build the probe's context (shared client, synthetic-traffic headers, host budget);
2. run the probe under ``asyncio.timeout(check timeout)``;
3. retry only what a retry can fix (``retry_on``: connection errors, timeouts, 5xx,
   429 by default; never an assertion failing on a 200), sleeping
   ``initial * factor**n`` with +/- jitter, at least any ``Retry-After``;
4. measure once more, at once, a verdict set by a time budget that the monitor's own
   event-loop hold-up during the attempt could explain (:mod:`monitor.looplag`);
5. turn anything escaping the probe into an ``error`` result;
6. redact every secret from the final result.

Checks of one run go concurrently, bounded by ``runner.concurrency`` (browser checks by
``runner.browser_concurrency``, a pool of their own).
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import structlog

from monitor.artifacts.links import ArtifactLink
from monitor.config.models import CheckCommon, CheckDefaults
from monitor.config.root import SmokewatchConfig
from monitor.looplag import LoopLag
from monitor.redact import Redactor
from monitor.store.records import ResultRecord
from probes import PROBES
from probes.base import (
    AssertionOutcome,
    Attachment,
    GateClosed,
    Probe,
    ProbeContext,
    ProbeResult,
    RequestGate,
    Status,
)
from probes.reasons import FailureReason
from probes.retry import backoff_s


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One check's completed run: the final attempt's result, already redacted."""

    check: str
    kind: str
    region: str
    run_id: str
    started_at: datetime
    duration_ms: float
    attempts: int
    result: ProbeResult
    wall_ms: float = 0.0
    wait_ms: float = 0.0
    # Set once stored: the result's id and its evidence (monitor.artifacts.ingest).
    result_id: int | None = None
    links: tuple[ArtifactLink, ...] = ()

    @property
    def status(self) -> Status:
        return self.result.status

    def to_record(self) -> ResultRecord:
        return ResultRecord(
            run_id=self.run_id,
            check=self.check,
            kind=self.kind,
            region=self.region,
            started_at=self.started_at,
            duration_ms=self.duration_ms,
            wall_ms=self.wall_ms,
            wait_ms=self.wait_ms,
            status=self.result.status,
            attempts=self.attempts,
            message=self.result.message,
            reason=self.result.reason,
            timings=dict(self.result.timings),
            assertions=[_assertion_dict(a) for a in self.result.assertions],
            details=dict(self.result.details),
            artifacts=list(self.result.artifacts),
        )


def _assertion_dict(outcome: AssertionOutcome) -> dict[str, object]:
    return {
        "name": outcome.name,
        "passed": outcome.passed,
        "expected": outcome.expected,
        "actual": outcome.actual,
    }


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class Runner:
    """Runs checks of one config in one region.  Owns nothing; the Runtime hands it all."""

    config: SmokewatchConfig
    client: httpx.AsyncClient
    gate: ServiceGate
    redactor: Redactor
    region: str
    headers: Mapping[str, str]
    log: Any = field(default_factory=structlog.get_logger)
    probes: Mapping[str, Probe[Any]] = field(default_factory=lambda: PROBES)
    resources: Mapping[str, object] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None  # the client's verifying context (ProbeContext.tls)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    lag: LoopLag = field(default_factory=LoopLag)  # the event loop's own hold-ups
    remeasures: int = 0  # verdicts measured again because a hold-up could explain them
    _semaphore: asyncio.Semaphore | None = None
    _browser_semaphore: asyncio.Semaphore | None = None  # browser checks: a pool of their own
    # Each check's effective settings, by the check object (kept, so its id stays its own).
    _settings: dict[int, tuple[CheckCommon, CheckDefaults]] = field(default_factory=dict)

    def checks_for_region(self, names: Iterable[str] | None = None) -> list[CheckCommon]:
        """Enabled checks that run in this region (all, or the ``names`` given)."""
        checks: Sequence[CheckCommon] = self.config.checks
        if names is not None:  # a scheduled run names one check of thousands: no scan
            positions = self.config.positions
            checks = [checks[i] for i in sorted({positions[n] for n in names if n in positions})]
        return [c for c in checks if c.enabled and (c.regions is None or self.region in c.regions)]

    async def run_all(
        self, checks: Iterable[CheckCommon], *, run_id: str | None = None
    ) -> list[CheckRun]:
        run_id = run_id or new_run_id()
        return list(await asyncio.gather(*(self.run_check(c, run_id=run_id) for c in checks)))

    async def run_check(self, check: CheckCommon, *, run_id: str | None = None) -> CheckRun:
        """Run one check to completion; never raises for anything the target or probe does."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.runner.concurrency)
            self._browser_semaphore = asyncio.Semaphore(self.config.runner.browser_concurrency)
        pool = self._semaphore
        if check.kind == "browser" and self._browser_semaphore is not None:
            pool = self._browser_semaphore
        run_id = run_id or new_run_id()
        async with pool:
            return await self._run(check, run_id)

    async def _run(self, check: CheckCommon, run_id: str) -> CheckRun:
        settings = self._settings_for(check)
        log = self.log.bind(check=check.name, region=self.region, run_id=run_id)
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        gate = _TimedGate(self.gate)
        attempts = 0
        waited_s = 0.0
        evidence: tuple[ProbeResult, float] | None = None  # last attempt that reached the target
        skipped: str | None = None
        tried: list[dict[str, object]] = []  # each attempt's outcome, for the evidence ledger
        remeasured = False
        while True:
            attempts += 1
            gate.waited_s = 0.0
            a0 = time.perf_counter()
            with self.lag.window() as held:
                result = await self._attempt(check, settings, run_id, gate)
            gate.counted = True  # only a re-measurement goes uncounted
            waited_s += gate.waited_s
            probe_ms = max((time.perf_counter() - a0 - gate.waited_s) * 1000.0, 0.0)
            result = _with_lag(result, held.lag_ms)
            tried.append(attempt_entry(attempts, result, probe_ms))
            if _reached_target(result):
                evidence = (result, probe_ms)
            elif evidence is not None:
                # Nothing learnt this time (e.g. the budget is spent): keep what the last
                # real attempt saw; an outage must never turn into ``error``.
                skipped = result.message
                break
            step = self._next_step(settings, result, attempts, remeasured, held.lag_ms)
            if step is None:
                break
            event, delay = step
            elapsed_s = time.perf_counter() - t0
            cap_s = run_cap_s(settings)
            if elapsed_s + delay + settings.timeout.total_seconds() > cap_s:
                # The next attempt could end after the run cap: the next due run must not
                # wait behind this one.  The evidence so far stands.
                next_one = "a retry" if event == "retry" else "a re-measurement"
                skipped = f"run cap: {next_one} could end after {cap_s:g} s (80% of the interval)"
                break
            log.info(
                f"check.{event}",
                attempt=attempts,
                status=result.status.value,
                reason=self.redactor.text(result.message),
                delay_s=round(delay, 3),
                monitor_lag_ms=round(held.lag_ms, 1),
            )
            if event == "remeasure":
                remeasured = self._remeasure(tried[-1], gate)
                continue
            tried[-1]["then_waited_s"] = round(delay, 3)
            await self.sleep(delay)
            waited_s += delay
        wall_ms = (time.perf_counter() - t0) * 1000.0
        result, duration_ms = _final(evidence or (result, probe_ms), skipped, tried)
        result = self._redact(_with_reason(result, log))
        log.info(
            "check.done",
            kind=check.kind,
            status=result.status.value,
            attempts=attempts,
            duration_ms=round(duration_ms, 1),
            wall_ms=round(wall_ms, 1),
            wait_ms=round(waited_s * 1000.0, 1),
            message=result.message,
            reason=result.reason,
            monitor_lag_ms=result.details.get("monitor_lag_ms"),
        )
        return CheckRun(
            check=check.name,
            kind=check.kind,
            region=self.region,
            run_id=run_id,
            started_at=started_at,
            duration_ms=duration_ms,
            attempts=attempts,
            result=result,
            wall_ms=wall_ms,
            wait_ms=waited_s * 1000.0,
        )

    def _next_step(
        self,
        settings: CheckDefaults,
        result: ProbeResult,
        attempts: int,
        remeasured: bool,
        lag_ms: float,
    ) -> tuple[str, float] | None:
        """``("retry", backoff)``, ``("remeasure", 0)``, or None when the run is over."""
        if attempts <= settings.retries and _should_retry(result, settings):
            return "retry", self._backoff(settings, attempts, result.retry_after_s)
        if not remeasured and held_up_verdict(result, lag_ms):
            # A verdict about time that our own hold-up could explain: measure it again at
            # once (once per run); the new measurement stands, whatever it says.
            return "remeasure", 0.0
        return None

    def _remeasure(self, last: dict[str, object], gate: _TimedGate) -> bool:
        """Set up the re-measurement: marked in the ledger, counted in the metric, and not
        counted by the rate budget (our fault, not a request the schedule planned)."""
        self.remeasures += 1
        last["then_remeasured"] = True
        gate.counted = False
        return True

    def _settings_for(self, check: CheckCommon) -> CheckDefaults:
        """``config.settings_for(check)``, computed once per check (a pydantic copy each)."""
        hit = self._settings.get(id(check))
        if hit is not None and hit[0] is check:
            return hit[1]
        if len(self._settings) > 2 * len(self.config.checks):  # checks not from this config
            self._settings.clear()
        settings = self.config.settings_for(check)
        self._settings[id(check)] = (check, settings)
        return settings

    async def _attempt(
        self, check: CheckCommon, settings: CheckDefaults, run_id: str, gate: RequestGate
    ) -> ProbeResult:
        timeout_s = settings.timeout.total_seconds()
        probe = self.probes.get(check.kind)
        if probe is None:
            return ProbeResult(
                Status.ERROR, f"no probe for kind {check.kind!r}", reason=FailureReason.CONFIG
            )
        ctx = ProbeContext(
            client=self.client,
            headers={**self.headers, "X-Smokewatch-Run": run_id},
            gate=gate,
            deadline_s=timeout_s,
            check_name=check.name,
            region=self.region,
            resources=self.resources,
            tls=self.tls,
        )
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                return _own_fault(await probe.run(check, ctx))
        except TimeoutError:
            elapsed = (time.perf_counter() - t0) * 1000.0
            return ProbeResult(
                Status.FAIL,
                f"timed out after {timeout_s:g} s",
                timings={"total": elapsed},
                transient=True,
                details={"cause": "timeout"},
                reason=FailureReason.TIMEOUT,
            )
        except GateClosed as exc:
            return ProbeResult(
                Status.ERROR,
                str(exc),
                details={"cause": "rate_budget"},
                reason=FailureReason.BUDGET,
            )
        except Exception as exc:
            self.log.warning(
                "probe.crashed",
                check=check.name,
                error=type(exc).__name__,
                detail=self.redactor.text(str(exc)),
                exc_info=True,  # a probe bug: the traceback says where (the logger redacts it)
            )
            return ProbeResult(
                Status.ERROR,
                f"probe error: {type(exc).__name__}: {exc}",
                reason=FailureReason.INTERNAL,
            )

    def _backoff(self, settings: CheckDefaults, attempt: int, retry_after_s: float | None) -> float:
        backoff = settings.backoff
        base = backoff_s(
            backoff.initial.total_seconds(), backoff.factor, attempt, backoff.max.total_seconds()
        )
        jittered = base * (1 + self.rng.uniform(-backoff.jitter, backoff.jitter))
        if retry_after_s is not None:
            jittered = max(jittered, min(retry_after_s, backoff.max.total_seconds()))
        return max(jittered, 0.0)

    def _redact(self, result: ProbeResult) -> ProbeResult:
        r = self.redactor
        return replace(
            result,
            message=r.text(result.message),
            assertions=[_redact_assertion(r, a) for a in result.assertions],
            details=r.data(result.details),
            artifacts=[r.text(a) for a in result.artifacts],
            attachments=[_redact_attachment(r, a) for a in result.attachments],
        )


def _own_fault(result: ProbeResult) -> ProbeResult:
    """A ``fail`` caused by the monitor's own exhaustion (``resources``) is an ``error``:
    nothing was learnt about the target."""
    if result.status is Status.FAIL and result.reason is FailureReason.RESOURCES:
        return replace(result, status=Status.ERROR, transient=False)
    return result


def _final(
    evidence: tuple[ProbeResult, float], skipped: str | None, tried: list[dict[str, object]]
) -> tuple[ProbeResult, float]:
    """The run's result and duration: the last attempt that reached the target (else the
    last attempt), with why retries stopped early and, when it says more, the ledger."""
    result, duration_ms = evidence
    if skipped is not None:
        result = replace(result, details={**result.details, "retry_skipped": skipped})
    if len(tried) > 1 or not result.status.ok:
        result = replace(result, details={**result.details, "attempts": tried})
    return result, duration_ms


def _redact_assertion(redactor: Redactor, outcome: AssertionOutcome) -> AssertionOutcome:
    """``outcome`` with secrets masked; the same (frozen) object when there was none."""
    name, expected, actual = (
        redactor.text(outcome.name),
        redactor.text(outcome.expected),
        redactor.text(outcome.actual),
    )
    if (name, expected, actual) == (outcome.name, outcome.expected, outcome.actual):
        return outcome
    return replace(outcome, name=name, expected=expected, actual=actual)


def _with_reason(result: ProbeResult, log: Any) -> ProbeResult:
    """Every ``fail`` and ``error`` has a reason; one a probe forgot is a bug: ``internal``."""
    if result.status.ok:
        return result if result.reason is None else replace(result, reason=None)
    if result.reason is None:
        log.warning("probe.no_reason", status=result.status.value, message=result.message)
        return replace(result, reason=FailureReason.INTERNAL)
    return result


def _redact_attachment(redactor: Redactor, attachment: Attachment) -> Attachment:
    """Mask secret values in a text attachment (a response excerpt); bytes pass as they are."""
    if not attachment.content_type.startswith("text/"):
        return attachment
    text = redactor.text(attachment.data.decode("utf-8", errors="replace"))
    return replace(attachment, data=text.encode())


def attempt_entry(number: int, result: ProbeResult, probe_ms: float) -> dict[str, object]:
    """One attempt as the ledger shows it: ``{attempt, status, message, probe_ms}``, and
    ``monitor_lag_ms`` when the monitor's own event loop was held up during it."""
    entry: dict[str, object] = {
        "attempt": number,
        "status": result.status.value,
        "message": result.message[:200],
        "probe_ms": round(probe_ms, 1),
    }
    lag = result.details.get("monitor_lag_ms")
    if lag is not None:
        entry["monitor_lag_ms"] = lag
    return entry


# A hold-up of the monitor's event loop shorter than this is noise, not evidence.
HELD_UP_MS = 10.0


def _with_lag(result: ProbeResult, lag_ms: float) -> ProbeResult:
    """``details.monitor_lag_ms`` on an attempt measured while the monitor was held up."""
    if lag_ms < HELD_UP_MS:
        return result
    return replace(result, details={**result.details, "monitor_lag_ms": round(lag_ms, 1)})


def held_up_verdict(result: ProbeResult, lag_ms: float) -> bool:
    """Whether the monitor's own hold-up of ``lag_ms`` could have made this verdict.

    Only a status set by time budgets alone qualifies (``response time``, ``load time``,
    ``connect time``), with one of the deciding budgets exceeded by no more than the
    hold-up.  A verdict that any other assertion shares is left alone, and so is a
    timeout: retries cover those (``retry_on: timeout``), and its evidence carries
    ``monitor_lag_ms``.
    """
    if lag_ms < HELD_UP_MS or result.status is Status.PASS or not result.status.measured:
        return False
    failed = [a for a in result.assertions if not a.passed]
    if not failed or any(a.over_ms is None for a in failed):
        return False
    deciding = [a for a in failed if a.status_if_failed is result.status]
    return any(a.over_ms is not None and a.over_ms <= lag_ms for a in deciding)


RUN_CAP_SHARE = 0.8


def run_cap_s(settings: CheckDefaults) -> float:
    """The longest a run (attempts, backoff, waits) may take: 80 % of the check's interval."""
    return RUN_CAP_SHARE * settings.interval.total_seconds()


class ServiceGate(RequestGate, Protocol):
    """The service's gate (:class:`~monitor.scheduling.ratelimit.HostBudget`): it can also
    admit a request that its budget does not count."""

    async def acquire_uncounted(self, host: str) -> None:
        """Wait only while ``host`` is closed (a 429); raise ``GateClosed`` if too long."""


class _TimedGate:
    """Wraps the service's gate to measure how long one run waited for request budget;
    while ``counted`` is off (a re-measurement), the budget does not count its requests."""

    def __init__(self, inner: ServiceGate) -> None:
        self.inner = inner
        self.waited_s = 0.0
        self.counted = True

    async def acquire(self, host: str) -> None:
        t0 = time.perf_counter()
        try:
            if self.counted:
                await self.inner.acquire(host)
            else:
                await self.inner.acquire_uncounted(host)
        finally:
            self.waited_s += time.perf_counter() - t0

    def observe(self, host: str, response: httpx.Response) -> None:
        self.inner.observe(host, response)


def _reached_target(result: ProbeResult) -> bool:
    """Whether an attempt learnt something about the target (anything but ``error``)."""
    return result.status is not Status.ERROR


def _should_retry(result: ProbeResult, settings: CheckDefaults) -> bool:
    """Retry only what a retry may fix, as ``retry_on`` allows."""
    retry_on: set[str] = set(settings.retry_on)
    if result.status.ok:
        return _retry_cleanup(result, retry_on)
    if result.status is Status.ERROR:
        return False
    if "fail" in retry_on:
        return True
    if not result.transient:
        return False
    code = result.details.get("status_code")
    if isinstance(code, int):
        return _retry_code(code, retry_on)
    return _retry_cause(str(result.details.get("cause")), retry_on)


def _retry_cleanup(result: ProbeResult, retry_on: set[str]) -> bool:
    """A flow whose journey worked but whose cleanup failed: retried like any request."""
    cleanup = result.details.get("cleanup")
    if not isinstance(cleanup, Mapping) or cleanup.get("ok", True):
        return False
    code = cleanup.get("status_code")
    if isinstance(code, int):
        return _retry_code(code, retry_on)
    cause = cleanup.get("cause")
    return isinstance(cause, str) and _retry_cause(cause, retry_on)


def _retry_code(code: int, retry_on: set[str]) -> bool:
    return ("429" in retry_on and code == 429) or ("5xx" in retry_on and code >= 500)


def _retry_cause(cause: str, retry_on: set[str]) -> bool:
    # "timeout" is its own switch; any other no-response cause (a refused connection,
    # a crashed browser) is what "connection" covers.
    return ("timeout" if cause == "timeout" else "connection") in retry_on
