"""The world of ``bench/chaos.py``: targets with faults, the runner's attempts, the scheduler.

Pure and seeded: nothing here touches the store or the engine, so two runs of the
bench with different rules see exactly the same results.  Times are seconds from the
bench's start (``t``).  What is modelled:

- **Targets.**  Every request (attempt, or flow step) to a healthy target fails with
  probability ``noise`` (an HTTP 503, answered fast), independently; probe time is the
  check's base time with +/-``jitter`` relative noise.  A :class:`Fault` active at the
  attempt's start overrides that: ``500`` (answered fast), ``connection`` (refused at
  once) or ``timeout`` (the attempt lasts the whole ``timeout``).
- **The runner** (``monitor/runner.py``): up to ``1 + retries`` attempts; only what
  ``retry_on`` names is retried; backoff ``initial * factor**(n-1)`` capped at ``max``
  with +/-``jitter``; a retry that could end after 80 % of the interval (backoff plus a
  full timeout) is not started.  A run fails only when its last attempt failed, and
  then carries that attempt's evidence; ``duration_ms`` is the last attempt's probe
  time, ``wall_ms`` the run's, ``wait_ms`` the backoff.  A flow attempt runs its steps
  in order and stops at the first failing one; its cleanup (logout) runs after them: a
  failing cleanup is retried like any other request (the whole flow again) and, when
  it still fails, the run passes with ``details.cleanup.ok`` false.
- **The scheduler** (``monitor/scheduling/scheduler.py``): a check runs at start, then exactly
  every ``interval`` from a random phase (the scheduler's jitter is a fixed offset per
  check, which the random phase already stands for); a fire while the previous run
  still runs is skipped
  (``max_instances=1``); after a failing *regular* run a recheck runs ``recheck`` after
  it ended, unless the next regular fire comes first.  A failing run (any) runs each of
  its check's ``holders`` (its region's control checks, the checks it depends on) at
  once, unless a run of that holder started at or after the failing run started or a
  vouch of it is already due; a vouch that finds its holder running is dropped.
  Vouch runs draw from their own random stream, so the regular runs meet the same
  world with or without them.

Not modelled: the runner's concurrency bound and rate budgets (no waits on them), DNS
and TLS phases, ``Retry-After``, and ``degraded`` results.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

Mode = Literal["500", "connection", "timeout"]
RUN_CAP_SHARE = 0.8  # monitor.runner.RUN_CAP_SHARE


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault injected into the world: ``checks`` (in ``regions``; ``None``: all) fail
    from ``start`` to ``end`` the way ``mode`` says.  ``kind`` names what it stands for."""

    kind: Literal["outage", "parent", "region", "flap"]
    label: str
    checks: frozenset[str]
    start: float
    end: float
    mode: Mode
    regions: frozenset[str] | None = None

    def hits(self, check: str, region: str, t: float) -> bool:
        return (
            self.start <= t < self.end
            and check in self.checks
            and (self.regions is None or region in self.regions)
        )


@dataclass(frozen=True, slots=True)
class RunnerModel:
    """A check's effective runner settings (``SmokewatchConfig.settings_for``) in seconds."""

    interval: float
    timeout: float
    retries: int
    backoff_initial: float
    backoff_factor: float
    backoff_max: float
    backoff_jitter: float
    retry_on: frozenset[str]


@dataclass(frozen=True, slots=True)
class CheckModel:
    """One check: its kind, base probe time, flow shape and runner settings."""

    name: str
    kind: Literal["http", "flow"]
    base_ms: float
    runner: RunnerModel
    steps: int = 1  # requests of the journey (flow)
    cleanup: int = 0  # cleanup requests (flow)
    holders: tuple[str, ...] = ()  # run at once after a failing run (scheduler vouch)


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    probe_ms: float
    code: int | None = None
    cause: str | None = None
    cleanup_failed: bool = False

    @property
    def retry_class(self) -> str:
        if self.cause is not None:
            return "timeout" if self.cause == "timeout" else "connection"
        return "5xx" if self.code is not None and self.code >= 500 else "fail"


@dataclass(frozen=True, slots=True)
class Run:
    """One synthesised run: what the runner would store."""

    check: str
    region: str
    start: float
    status: Literal["pass", "fail"]
    attempts: int
    duration_ms: float
    wall_ms: float
    wait_ms: float
    code: int | None
    cause: str | None
    retry_skipped: str | None
    cleanup_failed: bool
    recheck: bool
    vouch: bool = False

    @property
    def end(self) -> float:
        return self.start + self.wall_ms / 1000.0


@dataclass
class World:
    """The faults and the noise every request meets."""

    faults: list[Fault]
    noise: float = 0.05
    jitter: float = 0.3

    def fault_at(self, check: str, region: str, t: float) -> Fault | None:
        for fault in self.faults:
            if fault.hits(check, region, t):
                return fault
        return None

    def attempt(self, check: CheckModel, region: str, t: float, rng: random.Random) -> Attempt:
        probe_ms = max(1.0, check.base_ms * (1.0 + rng.uniform(-self.jitter, self.jitter)))
        fault = self.fault_at(check.name, region, t)
        if fault is not None:
            if fault.mode == "timeout":
                return Attempt(False, check.runner.timeout * 1000.0, cause="timeout")
            if fault.mode == "connection":
                return Attempt(False, rng.uniform(0.3, 2.0), cause="connection refused")
            return Attempt(False, probe_ms / check.steps, code=500)
        per_step = probe_ms / max(1, check.steps + check.cleanup)
        for n in range(check.steps):
            if rng.random() < self.noise:
                return Attempt(False, per_step * (n + 1), code=503)
        cleanup_failed = any(rng.random() < self.noise for _ in range(check.cleanup))
        return Attempt(True, probe_ms, cleanup_failed=cleanup_failed)


def run_check(
    world: World, check: CheckModel, region: str, start: float, rng: random.Random, *, recheck: bool
) -> Run:
    """One run as ``monitor.runner.Runner`` makes it (see the module docstring)."""
    settings = check.runner
    cap = RUN_CAP_SHARE * settings.interval
    elapsed = waited = 0.0
    attempts = 0
    skipped: str | None = None
    while True:
        attempts += 1
        got = world.attempt(check, region, start + elapsed, rng)
        elapsed += got.probe_ms / 1000.0
        retryable = (
            not got.ok and (got.retry_class in settings.retry_on or "fail" in settings.retry_on)
        ) or (got.ok and got.cleanup_failed and "5xx" in settings.retry_on)
        if not retryable or attempts > settings.retries:
            break
        base = min(
            settings.backoff_initial * settings.backoff_factor ** (attempts - 1),
            settings.backoff_max,
        )
        delay = base * (1.0 + rng.uniform(-settings.backoff_jitter, settings.backoff_jitter))
        if elapsed + delay + settings.timeout > cap:
            skipped = f"run cap: a retry could end after {cap:g} s"
            break
        elapsed += delay
        waited += delay
    return Run(
        check=check.name,
        region=region,
        start=start,
        status="pass" if got.ok else "fail",
        attempts=attempts,
        duration_ms=got.probe_ms,
        wall_ms=elapsed * 1000.0,
        wait_ms=waited * 1000.0,
        code=got.code if not got.ok else 200,
        cause=got.cause,
        retry_skipped=skipped,
        cleanup_failed=got.ok and got.cleanup_failed,
        recheck=recheck,
    )


def failing_run_s(check: CheckModel, mode: Mode) -> float:
    """``C`` of the README's formula: one failing run's time, backoff without jitter."""
    settings = check.runner
    attempt = settings.timeout if mode == "timeout" else check.base_ms / 1000.0
    cap = RUN_CAP_SHARE * settings.interval
    elapsed = attempt
    for n in range(1, settings.retries + 1):
        delay = min(
            settings.backoff_initial * settings.backoff_factor ** (n - 1), settings.backoff_max
        )
        if elapsed + delay + settings.timeout > cap:
            break
        elapsed += delay + attempt
    return elapsed


def rng_for(seed: int, *parts: str) -> random.Random:
    """An independent stream per series: the same world whatever else runs."""
    digest = hashlib.sha256("/".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    what: Literal["fire", "recheck", "vouch", "done"] = field(compare=False)
    series: int = field(compare=False)
    run: Run | None = field(default=None, compare=False)


@dataclass
class _Series:
    check: CheckModel
    region: str
    rng: random.Random
    phase: float
    fires: int = 0
    busy_until: float = -1.0
    next_fire: float = 0.0
    last_start: float = -1.0
    vouch_due: bool = False
    vouch_rng: random.Random | None = None


@dataclass
class Schedule:
    """The scheduler over every (check, region): yields each run when it ends, in order."""

    world: World
    checks: list[CheckModel]
    regions: list[str]
    seed: int
    duration_s: float
    recheck_s: float
    skipped: int = 0
    vouches: int = 0
    _queue: list[_Event] = field(default_factory=list)
    _seq: int = 0
    _series: list[_Series] = field(default_factory=list)
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for check in self.checks:
            for region in self.regions:
                rng = rng_for(self.seed, check.name, region)
                series = _Series(check, region, rng, phase=rng.uniform(0, check.runner.interval))
                series.vouch_rng = rng_for(self.seed, check.name, region, "vouch")
                self._series.append(series)
                self._push(rng.uniform(0, 1.0), "fire", len(self._series) - 1)
        self._index = {(s.check.name, s.region): i for i, s in enumerate(self._series)}

    def _push(
        self,
        at: float,
        what: Literal["fire", "recheck", "vouch", "done"],
        idx: int,
        run: Run | None = None,
    ) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Event(at, self._seq, what, idx, run))

    def _schedule_next(self, idx: int, series: _Series) -> None:
        interval = series.check.runner.interval
        series.fires += 1
        at = series.phase + series.fires * interval  # the jitter: a fixed offset, in the phase
        series.next_fire = at
        self._push(at, "fire", idx)

    def _vouch(self, series: _Series, failed: Run) -> None:
        for holder in series.check.holders:
            idx = self._index.get((holder, series.region))
            if idx is None:
                continue
            target = self._series[idx]
            if target.last_start >= failed.start or target.vouch_due:
                continue
            target.vouch_due = True
            self._push(failed.end, "vouch", idx)

    def runs(self) -> Iterator[Run]:
        """Every run that ends before ``duration_s``, in the order they end."""
        while self._queue:
            event = heapq.heappop(self._queue)
            if event.at >= self.duration_s:
                return
            series = self._series[event.series]
            if event.what == "done":
                assert event.run is not None
                yield event.run
                if event.run.status == "fail" and not event.run.recheck and self.recheck_s > 0:
                    at = event.run.end + self.recheck_s
                    if at < series.next_fire:
                        self._push(at, "recheck", event.series)
                if event.run.status == "fail":
                    self._vouch(series, event.run)
                continue
            if event.what == "fire":
                self._schedule_next(event.series, series)
                if event.at < series.busy_until:
                    self.skipped += 1  # max_instances=1: the previous run still runs
                    continue
            rng = series.rng
            if event.what == "vouch":
                series.vouch_due = False
                if event.at < series.busy_until:
                    continue  # the service's busy guard: the holder is running
                self.vouches += 1
                assert series.vouch_rng is not None
                rng = series.vouch_rng
            run = run_check(
                self.world,
                series.check,
                series.region,
                event.at,
                rng,
                recheck=event.what != "fire",
            )
            if event.what == "vouch":
                run = replace(run, vouch=True)
            series.last_start = event.at
            series.busy_until = max(series.busy_until, run.end)
            self._push(run.end, "done", event.series, run)
