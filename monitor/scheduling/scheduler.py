"""Run each check on its schedule: APScheduler 3's ``AsyncIOScheduler``, one job per check.

A job's id is its check's name.  Its trigger is the check's interval (or its 5-field
cron expression, in UTC) shifted by a fixed delay of up to ``scheduler.jitter``, capped
at half the period: one delay per check, from its name (:mod:`monitor.scheduling.triggers`),
so checks that share an interval are spread and each still runs exactly every interval.
A crowd that shares a period is spread wider, up to half the period, so that at most
``runner.concurrency`` of its runs (browser checks: ``browser_concurrency``) fall due
per second.
``max_instances=1`` and ``coalesce`` mean a slow check is never overlapped by itself
and a backlog of missed runs collapses into one (each due time folded away is logged,
``scheduler.run_skipped`` with reason ``folded``, and counted); a run later than
``misfire_grace`` is skipped.  The global bound on concurrent checks is the Runner's
semaphore (``runner.concurrency``).

The scheduler only decides *when*: each run calls the ``run`` callback it was given,
and whatever that raises is logged, never allowed to stop the scheduler.

Rechecks: when the callback returns ``False`` (the run failed), a one-off run of the
check follows ``scheduler.recheck`` later (job id ``<check>#recheck``), so confirming
an outage does not wait a whole interval.  Only a regular run earns a recheck, and only
when the recheck comes before the next regular run: at most one recheck per interval.

Vouch runs: a failing run of a check also runs its *holders* at once (job id
``<holder>#vouch``): the region's control checks and the checks it ``depends_on``
(directly or not), each unless a run of it already started at or after the failing run
started.  The alert engine holds a check's new alert until its holders have a run
started after the check's first bad vote (``monitor/alerting/inhibit.py``); running
them now instead of at their next interval keeps that hold to about one holder run.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (  # type: ignore[import-untyped]  # APScheduler 3 ships no types
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.schedulers.asyncio import (  # type: ignore[import-untyped]  # no types (as above)
    AsyncIOScheduler,
)
from apscheduler.triggers.date import (  # type: ignore[import-untyped]  # no types
    DateTrigger,
)

from monitor.config.cron import cron_trigger
from monitor.config.models import CheckCommon
from monitor.config.root import SmokewatchConfig
from monitor.scheduling.budgets import origin_loads, period_s
from monitor.scheduling.triggers import AlignedInterval, Shifted, fixed_offset_s

RunCheck = Callable[[str], Awaitable[object]]
# Asked before a regular run with the time it was due; ``False``: another replica runs it.
Claim = Callable[[str, datetime], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class JobPlan:
    """When one check runs: what decides whether a reload must reschedule it."""

    check: str
    interval_s: float
    cron: str | None
    jitter_s: float
    misfire_grace_s: int
    recheck_s: float = 0.0
    holders: tuple[str, ...] = ()  # run at once after a failing run of this check
    offset_s: float = 0.0  # the check's fixed delay after each slot: [0, jitter_s)
    paced: bool = (
        False  # its origin's budget is tight (monitor.scheduling.budgets): no run at start
    )

    def trigger(self, start: datetime) -> Any:
        """The job's trigger, scheduled at ``start``: an interval check's first slot is an
        interval later (a paced check's is ``start`` itself) plus its offset."""
        if self.cron is not None:
            cron = cron_trigger(self.cron)
            return Shifted(cron, self.offset_s) if self.offset_s else cron
        first = start if self.paced else start + timedelta(seconds=self.interval_s)
        return AlignedInterval(self.interval_s, self.offset_s, start=first)


def plan_jobs(config: SmokewatchConfig, checks: Iterable[CheckCommon]) -> dict[str, JobPlan]:
    """The job of each check (a cron expression is only parsed when its job is scheduled).

    Interval checks of an origin whose budget they would overrun are paced
    (:mod:`monitor.scheduling.budgets`): interval stretched, runs spread evenly, no run at start.
    """
    checks = list(checks)
    settings = config.scheduler
    max_jitter = settings.jitter.total_seconds()
    grace = max(1, math.ceil(settings.misfire_grace.total_seconds()))
    holders = holders_of(checks)
    pacing = _pacing(config, checks)
    crowds = _crowds(config, [c for c in checks if c.cron is not None or c.name not in pacing])
    plans: dict[str, JobPlan] = {}
    for check in checks:
        interval_s = config.settings_for(check).interval.total_seconds()
        period = period_s(config, check)
        # A crowd of checks that share a period is spread wider than the jitter, so that
        # at most ``concurrency`` runs of a pool fall due per second: 10,000 checks every
        # 30 minutes are 5.6 runs a second all along, not 333 a second for 30 s (a burst
        # queues behind the concurrency limit, and that wait is lateness).  Up to half
        # the period; no jitter (0 s) is no spread at all.
        crowd_s = crowds.get((_pool(check), period), 0.0) if max_jitter > 0 else 0.0
        jitter_s = min(max(max_jitter, crowd_s), period / 2)
        offset_s = fixed_offset_s(check.name, jitter_s)
        paced = check.cron is None and check.name in pacing
        if paced:
            stretch, rank, count = pacing[check.name]
            interval_s *= stretch
            offset_s = interval_s * rank / count
        plans[check.name] = JobPlan(
            check=check.name,
            interval_s=interval_s,
            cron=check.cron,
            jitter_s=jitter_s,
            misfire_grace_s=grace,
            recheck_s=settings.recheck.total_seconds(),
            holders=holders[check.name],
            offset_s=offset_s,
            paced=paced,
        )
    return plans


def _pool(check: CheckCommon) -> str:
    """The runner pool a check's runs wait in (``monitor.runner``)."""
    return "browser" if check.kind == "browser" else "default"


def _crowds(
    config: SmokewatchConfig, checks: Iterable[CheckCommon]
) -> dict[tuple[str, float], float]:
    """The spread, in seconds, that starts at most the pool's concurrency runs a second,
    for each (pool, period) that ``checks`` share."""
    counts: Counter[tuple[str, float]] = Counter(
        (_pool(check), period_s(config, check)) for check in checks
    )
    runner = config.runner
    per_second = {"default": runner.concurrency, "browser": runner.browser_concurrency}
    return {key: count / per_second[key[0]] for key, count in counts.items()}


def holders_of(checks: Sequence[CheckCommon]) -> dict[str, tuple[str, ...]]:
    """Each check's holders among ``checks``: its ancestors by ``depends_on``, nearest
    first, then the control checks (none of its own for a control check)."""
    parents = {c.name: list(c.depends_on) for c in checks}
    controls = sorted(c.name for c in checks if c.control)
    out: dict[str, tuple[str, ...]] = {}
    for check in checks:
        seen: list[str] = []
        queue = list(parents[check.name])
        while queue:
            name = queue.pop(0)
            if name in parents and name not in seen and name != check.name:
                seen.append(name)
                queue.extend(parents[name])
        extra = [] if check.control else [c for c in controls if c not in seen]
        out[check.name] = (*seen, *extra)
    return out


def _pacing(
    config: SmokewatchConfig, checks: list[CheckCommon]
) -> dict[str, tuple[float, int, int]]:
    """Each paced check's interval stretch, and its rank among its origin's checks."""
    pacing: dict[str, tuple[float, int, int]] = {}
    for load in origin_loads(config, checks):
        if not load.paced:
            continue
        for rank, name in enumerate(load.checks):
            stretch = max(load.stretch, pacing.get(name, (1.0, 0, 1))[0])
            pacing[name] = (stretch, rank, len(load.checks))
    return pacing


_MAX_FOLDED = 10_000  # due times counted between two runs (a day of 10 s checks)


class CheckScheduler:
    """One leadership term's jobs.  Start in a running event loop; stop once."""

    def __init__(
        self,
        run: RunCheck,
        *,
        log: Any,
        claim: Claim | None = None,
        anchor: datetime | None = None,
    ) -> None:
        self._run = run
        self._log = log
        # Sharded (monitor.scheduling.shard): a regular run first claims its due time, and interval
        # grids start at ``anchor`` (the epoch) so every replica computes the same due times.
        self._claim = claim
        self._anchor = anchor
        self._plans: dict[str, JobPlan] = {}
        self._known: dict[str, JobPlan] = {}  # every check of the region (vouch runs)
        self._due: dict[str, datetime] = {}  # each job's scheduled time, as it is submitted
        self._last_due: dict[str, datetime] = {}  # the due time each job was last submitted for
        self._last_start: dict[str, datetime] = {}  # when each check's newest run started
        self.skipped: Counter[str] = Counter()  # runs not started: still running, or too late
        # APScheduler's own log lines are off (an unregistered logger: no global logging
        # state touched); what matters reaches our log through the listeners below.
        quiet = logging.Logger("smokewatch.apscheduler")
        quiet.disabled = True
        self._scheduler = AsyncIOScheduler(timezone=UTC, logger=quiet)
        self._scheduler.add_listener(self._on_skip, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self._scheduler.add_listener(self._on_submit, EVENT_JOB_SUBMITTED)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    @property
    def plans(self) -> Mapping[str, JobPlan]:
        return dict(self._plans)

    def next_run(self, check: str) -> datetime | None:
        job = self._scheduler.get_job(check)
        return None if job is None else job.next_run_time

    def start(self, plans: Mapping[str, JobPlan], *, run_at_start: bool) -> None:
        """Start the scheduler with these jobs; each runs at once if ``run_at_start``."""
        self._scheduler.start()
        self.update(plans, run_new_now=run_at_start)

    def update(
        self,
        plans: Mapping[str, JobPlan],
        *,
        run_new_now: bool,
        known: Mapping[str, JobPlan] | None = None,
    ) -> None:
        """Make the jobs match ``plans``: new ones added, changed ones rescheduled, gone removed.

        A job whose plan did not change keeps its next run time.  ``known`` (default
        ``plans``) is every check of the region: a holder among them can be vouched for
        here even when another replica owns it.
        """
        self._known = dict(plans if known is None else known)
        for name in set(self._plans) - set(plans):
            self._scheduler.remove_job(name)
            self._last_due.pop(name, None)
            if name not in self._known:  # handed over: its pending recheck still runs here
                self._drop_one_offs(name)
            del self._plans[name]
        now = datetime.now(UTC)
        for name, plan in plans.items():
            old = self._plans.get(name)
            if old == plan:
                continue
            try:
                trigger = plan.trigger(now if self._anchor is None else self._anchor)
            except ValueError as exc:
                self._log.error("scheduler.bad_schedule", check=name, reason=str(exc))
                if old is not None:
                    self._scheduler.remove_job(name)
                    del self._plans[name]
                continue
            self._last_due.pop(name, None)  # a new grid: nothing before it was due
            options: dict[str, Any] = {}
            if old is None and run_new_now and not plan.paced:
                options["next_run_time"] = now
            self._scheduler.add_job(
                self._fire,
                trigger,
                args=(name,),
                id=name,
                name=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=plan.misfire_grace_s,
                replace_existing=True,
                **options,
            )
            self._plans[name] = plan
        self._log.info("scheduler.jobs", checks=sorted(self._plans))

    def clear(self) -> None:
        """Remove every job at once: nothing new starts; runs already going carry on."""
        self._scheduler.remove_all_jobs()
        self._plans.clear()
        self._known.clear()

    def stop(self) -> None:
        """Remove every job and shut the scheduler down (without waiting for running checks)."""
        if self._scheduler.running:
            self.clear()
            self._scheduler.shutdown(wait=False)

    async def _fire(self, name: str, recheck: bool = False) -> None:
        due = self._due.pop(name, None) if not recheck else None
        if due is not None and self._claim is not None and not await self._claim(name, due):
            return  # another replica runs this due time
        started = datetime.now(UTC)
        before = self._last_start.get(name)
        self._last_start[name] = started
        try:
            outcome = await self._run(name)
            if outcome is None and before is not None:
                self._last_start[name] = before  # no run happened (still running): not a start
        except asyncio.CancelledError:
            # The scheduler shut down under a running job (the lease was lost, or the
            # service stops): the run itself is the service's to finish, not ours.
            return
        except Exception as exc:  # noqa: BLE001 -- a failing run must never stop the scheduler
            self._log.exception(
                "scheduler.run_failed", check=name, error=type(exc).__name__, detail=str(exc)
            )
            return
        if outcome is False:
            self._vouch(name, started)
            if not recheck:
                self._schedule_recheck(name)

    def _vouch(self, name: str, failed_run_started: datetime) -> None:
        """Run ``name``'s holders now, each unless one of its runs started since then."""
        plan = self._known.get(name)
        for holder in plan.holders if plan is not None else ():
            last = self._last_start.get(holder)
            if holder not in self._known or (last is not None and last >= failed_run_started):
                continue
            self._scheduler.add_job(
                self._fire,
                DateTrigger(run_date=datetime.now(UTC), timezone=UTC),
                args=(holder, True),
                id=f"{holder}#vouch",
                name=f"{holder}#vouch",
                misfire_grace_time=self._known[holder].misfire_grace_s,
                replace_existing=True,
            )
            self._log.info("scheduler.vouch", check=holder, failed=name)

    def _schedule_recheck(self, name: str) -> None:
        plan = self._plans.get(name)
        job = self._scheduler.get_job(name)
        if plan is None or job is None or plan.recheck_s <= 0:
            return
        at = datetime.now(UTC) + timedelta(seconds=plan.recheck_s)
        if job.next_run_time is not None and at >= job.next_run_time:
            return  # the regular run comes first: no recheck needed
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=at, timezone=UTC),
            args=(name, True),
            id=f"{name}#recheck",
            name=f"{name}#recheck",
            misfire_grace_time=plan.misfire_grace_s,
            replace_existing=True,
        )
        self._log.info("scheduler.recheck", check=name, at=at.isoformat())

    def _drop_one_offs(self, name: str) -> None:
        for suffix in ("#recheck", "#vouch"):
            if self._scheduler.get_job(f"{name}{suffix}") is not None:
                self._scheduler.remove_job(f"{name}{suffix}")

    def _on_submit(self, event: Any) -> None:
        # Dispatched as the job's task is created, before it runs: _fire reads it first.
        times = getattr(event, "scheduled_run_times", None)
        name = str(event.job_id)
        if times and "#" not in name:
            self._due[name] = times[-1]
            last, self._last_due[name] = self._last_due.get(name), times[-1]
            if last is not None:
                self._count_folded(name, last, times[-1])

    def _count_folded(self, name: str, last: datetime, due: datetime) -> None:
        """Log and count the due times between ``last`` and ``due`` that ``coalesce`` folded
        into this one run (the loop woke too late for them): a run not made is never silent."""
        job = self._scheduler.get_job(name)
        if job is None:
            return
        folded: list[datetime] = []
        at = job.trigger.get_next_fire_time(last, last)
        while at is not None and at < due and len(folded) < _MAX_FOLDED:
            folded.append(at)
            at = job.trigger.get_next_fire_time(at, at)
        if folded:
            self.skipped[name] += len(folded)
            self._log.warning(
                "scheduler.run_skipped",
                check=name,
                reason="folded",
                due_times=len(folded),
                first_due=folded[0].isoformat(),
                ran_for=due.isoformat(),
            )

    def _on_skip(self, event: Any) -> None:
        name = str(event.job_id)
        reason = "still running" if event.code == EVENT_JOB_MAX_INSTANCES else "missed"
        self.skipped[name] += 1
        self._log.warning("scheduler.run_skipped", check=name, reason=reason)
