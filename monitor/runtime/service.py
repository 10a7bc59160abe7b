"""The long-running service behind ``smokewatch serve``: runtime, region lease and scheduler.

    service = Service(loaded, region="eu-west-1")
    await service.start()     # open the store; lead the region or wait as its standby
    ...
    await service.reload()    # new config in force; a bad one changes nothing
    await service.stop()      # running checks get scheduler.shutdown_grace to finish

One replica per region leads (holds the :class:`~monitor.scheduling.leader.RegionLease`) and runs
the region's checks on their schedules; the others poll the lease every
``scheduler.lease_poll`` and take over when the leader goes.  A leader keeps leading
through a store outage (its results go to the local spool, :mod:`monitor.runtime.spool`, and
are replayed when the store answers, :mod:`monitor.runtime.replay`) and drops its jobs only
once it learns another replica holds the lease (:mod:`monitor.scheduling.leader`).  Every run,
scheduled or asked for, goes through ``Runtime.run_once``: the same path as
``smokewatch run --once``.

A reload builds a new :class:`~monitor.runtime.runtime.Runtime`; the old one closes once the
runs it started have finished.  Results live in the store and survive both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from monitor.config.loader import LoadedConfig, load_config
from monitor.contract import (
    Lateness,
    MemberState,
    Readiness,
    ShardState,
    Split,
    StoreLag,
    UnknownCheck,
)
from monitor.errors import ConfigError, ConfigProblem
from monitor.runner import CheckRun, new_run_id
from monitor.runtime.replay import Replayer
from monitor.runtime.runtime import Runtime, resolve_region
from monitor.runtime.spool import SHARD_SLOTS, spool_for
from monitor.scheduling.leader import LeaseError, RegionLease
from monitor.scheduling.scheduler import CheckScheduler, JobPlan, plan_jobs
from monitor.scheduling.shard import Role, Shard, takes
from monitor.scheduling.shard_metrics import ShardCollector, quantile
from monitor.scheduling.triggers import EPOCH
from monitor.store import ResultStore, StoreError, database_url
from monitor.store.members import Member, MemberStore
from monitor.telemetry.scrape import Exposition
from probes.base import Status

READY_PING_TIMEOUT_S = 2.0
REPLAY_EVERY_S = 1.0  # how often a non-empty spool is offered to the store
CANCEL_TIMEOUT_S = 5.0  # how long cancelled runs get to unwind after the grace period
CLAIMS_KEPT_S = 3600.0  # run claims older than this are pruned (by the region's leader)
LATENESS_KEPT = 1000  # recent scheduled runs whose lateness /ready summarizes

RunTask = asyncio.Task[list[CheckRun]]


@dataclass(eq=False)
class _Generation:
    """One config's Runtime and the runs it has going."""

    runtime: Runtime
    tasks: set[RunTask] = field(default_factory=set)


class Service:
    """Implements ``monitor.contract.ServiceView``: what the API sees of the running service."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        region: str | None = None,
        env: Mapping[str, str] | None = None,
        scheduler: bool = True,
        log_stream: TextIO | None = None,
        role: Role = "all",
    ) -> None:
        self._env = env
        self._region = resolve_region(region, os.environ if env is None else env)
        self._scheduling = scheduler
        self._log_stream = log_stream
        # One spool for the process, shared by every config generation: a reload that
        # changes storage.spool_path takes effect at restart.
        # A sharing replica runs checks, so it needs a spool of its own: its first free slot.
        backend = make_url(database_url(loaded.config.storage.url)).get_backend_name()
        self._sharing = scheduler and loaded.config.scheduler.shard and backend == "postgresql"
        self._spool = spool_for(loaded.config.storage, slots=SHARD_SLOTS if self._sharing else 1)
        self._replayer: Replayer | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._shard_role: Role = role
        self._shard: Shard | None = None  # sharing the region's checks (scheduler.shard)
        self._shard_task: asyncio.Task[None] | None = None
        self._shard_problem: str | None = None
        self._shard_jobs: tuple[frozenset[str], dict[str, JobPlan]] | None = None
        self._claims_pruned_at = 0.0
        self._joined_at = datetime.now(UTC)
        self.lateness: deque[float] = deque(maxlen=LATENESS_KEPT)  # seconds, recent runs
        self._claimed: dict[str, str] = {}  # check -> the run id its claim recorded
        self._gen = _Generation(self._new_runtime(loaded))
        self._old: set[_Generation] = set()  # replaced by a reload, finishing their runs
        self._retiring: set[asyncio.Task[None]] = set()
        self._busy: dict[str, RunTask] = {}  # scheduled runs going, by check
        self._lease: RegionLease | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._lease_problem: str | None = None
        self._scheduler: CheckScheduler | None = None
        self._role = "standby" if scheduler else "api-only"
        self._reload_lock = asyncio.Lock()
        self._started = False
        self._stopped = False

    # -- what the API reads ------------------------------------------------------

    @property
    def loaded(self) -> LoadedConfig:
        return self._gen.runtime.loaded

    @property
    def region(self) -> str:
        return self._region

    @property
    def store(self) -> ResultStore:
        store = self._gen.runtime.store
        if store is None:
            raise RuntimeError("the service is not started")
        return store

    @property
    def role(self) -> str:
        """``leader``, ``standby``, ``member`` (sharing, not the leader) or ``api-only``."""
        return self._role

    @property
    def shard(self) -> Shard | None:
        """This replica's share of the region's checks; ``None`` unless sharing."""
        return self._shard

    @property
    def scheduler(self) -> CheckScheduler | None:
        """This leadership term's scheduler; ``None`` unless leading."""
        return self._scheduler

    @property
    def log(self) -> Any:
        return self._gen.runtime.log

    async def metrics(self, accept: str | None = None) -> Exposition:
        return await self._gen.runtime.scrapes.get(accept)

    def store_lag(self) -> StoreLag:
        spool = self._spool
        if spool is None or not spool.pending:
            return StoreLag()
        oldest = spool.oldest_at
        age = None if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        return StoreLag(spooled=spool.pending, oldest_age_s=age)

    async def readiness(self) -> Readiness:
        if not self._started or self._stopped:
            return Readiness(
                {"service": "stopped" if self._stopped else "not started"},
                self._role,
                self.store_lag(),
            )
        components: dict[str, str] = {}
        try:
            await self.store.ping(timeout_s=READY_PING_TIMEOUT_S)
            components["store"] = "ok"
        except StoreError:
            components["store"] = "unreachable"
        if self._scheduling:
            components["scheduler"] = self._scheduler_state()
        # A replica whose role takes no browser checks (``--role http``) never needs Chromium.
        takes_browser = self._shard is None or takes(self._shard.role, "browser")
        if takes_browser and (browser := self._gen.runtime.browser_state()) is not None:
            components["browser"] = browser
        return Readiness(
            components,
            self._role,
            self.store_lag(),
            shard=self._shard_state(),
            lateness=self._lateness() if self._scheduling else None,
        )

    def _shard_state(self) -> ShardState | None:
        shard = self._shard
        if shard is None:
            return None
        return ShardState(
            member=shard.member,
            role=shard.role,
            owned=len(shard.owned),
            unowned=shard.unowned,
            members=shard.counts(),
        )

    def split(self) -> Split | None:
        shard = self._shard
        if shard is None:
            return None
        counts = shard.counts()
        members = tuple(
            MemberState(m.member, m.role, m.heartbeat_at, counts.get(m.member, 0))
            for m in shard.members
        )
        return Split(self._region, members, shard.unowned, self._lateness())

    def _lateness(self) -> Lateness:
        recent = list(self.lateness)
        return Lateness(
            runs=len(recent),
            p50_s=quantile(recent, 0.5),
            p95_s=quantile(recent, 0.95),
            max_s=quantile(recent, 1.0),
        )

    def _scheduler_state(self) -> str:
        if self._lease_task is None or self._lease_task.done():
            return "lease loop stopped"
        if self._role == "leader" and (self._scheduler is None or not self._scheduler.running):
            return "not running"
        return "ok"

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("the service is already started")
        if self._sharing and self._spool is not None:
            self._spool.claim()  # SpoolBusyError (nothing opened yet): every slot is taken
        await self._gen.runtime.open()
        self._started = True
        if self._spool is not None:
            self._replayer = Replayer(self._spool, log=self.log)
            self._replay_task = asyncio.create_task(self._replay_loop(), name="smokewatch-replay")
        if self._scheduling:
            self._lease = RegionLease(self.loaded.config.storage.url, self._region)
            if self._sharing:
                await self._join()
            await self._lease_step(self._lease)
            self._lease_task = asyncio.create_task(
                self._lease_loop(self._lease), name="smokewatch-lease"
            )
        self.log.info("service.started", region=self._region, role=self._role)

    async def stop(self) -> None:
        async with self._reload_lock:  # a reload under way completes first
            if not self._started or self._stopped:
                return
            self._stopped = True
            await self._shut_down()

    async def _shut_down(self) -> None:
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        if self._shard is not None:
            await self._leave()
        if self._scheduler is not None:
            self._scheduler.clear()  # nothing new starts from here on
        await self._finish_runs(self.loaded.config.scheduler.shutdown_grace.total_seconds())
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._retiring:
            await asyncio.wait(self._retiring, timeout=CANCEL_TIMEOUT_S)
        if self._replay_task is not None:
            self._replay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay_task
        await self._replay()  # what the last runs spooled, if the store takes it now
        await self._gen.runtime.close()
        if self._spool is not None:
            self._spool.close()
        if self._lease is not None:
            await self._lease.release()
        self.log.info("service.stopped", region=self._region)

    async def _finish_runs(self, grace_s: float) -> None:
        pending: set[RunTask] = set(self._gen.tasks).union(*(gen.tasks for gen in self._old))
        if not pending:
            return
        self.log.info("service.waiting_for_runs", runs=len(pending), grace_s=grace_s)
        _, late = await asyncio.wait(pending, timeout=grace_s)
        if late:
            self.log.warning("service.runs_cancelled", runs=len(late), grace_s=grace_s)
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=CANCEL_TIMEOUT_S)
        # Cancelling a run whose checks had finished leaves its result to be recorded
        # (Runtime.run_once): stored, or spooled for the replay below.  Never dropped.
        runtime = self._gen.runtime
        if runtime.recording:
            self.log.info("service.recording_results", runs=runtime.recording)
            await runtime.settle()

    # -- runs ----------------------------------------------------------------------

    async def run_now(self, check: str) -> CheckRun:
        if not self._started or self._stopped:
            raise RuntimeError("the service is not running")
        known = {c.name for c in self._gen.runtime.scheduled_checks()}
        if check not in known:
            raise UnknownCheck(check)
        # Shielded: a caller that goes away (a closed HTTP request) does not cancel the run.
        (run,) = await asyncio.shield(self._spawn([check]))
        return run

    async def _run_scheduled(self, name: str) -> bool | None:
        """Run one check; ``False`` when it failed (the scheduler then plans a recheck)."""
        if name in self._busy:
            self._claimed.pop(name, None)
            self.log.info("scheduler.run_skipped", check=name, reason="still running")
            return None
        task = self._spawn([name], run_id=self._claimed.pop(name, None))
        self._busy[name] = task
        task.add_done_callback(lambda _: self._busy.pop(name, None))
        # Shielded: losing the lease stops the scheduler, not a run already going.
        with contextlib.suppress(Exception):  # _run_done logs it
            runs = await asyncio.shield(task)
            return not any(run.status is Status.FAIL for run in runs)
        return None

    def _spawn(self, names: list[str], *, run_id: str | None = None) -> RunTask:
        gen = self._gen
        task = asyncio.create_task(
            gen.runtime.run_once(names, run_id=run_id), name=f"smokewatch-run:{names[0]}"
        )
        gen.tasks.add(task)
        task.add_done_callback(lambda t: self._run_done(gen, t))
        return task

    def _run_done(self, gen: _Generation, task: RunTask) -> None:
        gen.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.log.error("run.failed", error=type(exc).__name__, detail=str(exc), exc_info=exc)

    # -- spool -----------------------------------------------------------------------

    async def _replay_loop(self) -> None:
        while True:
            await self._replay()
            await asyncio.sleep(REPLAY_EVERY_S)

    async def _replay(self) -> None:
        runtime = self._gen.runtime
        if self._replayer is None or runtime.store is None:
            return
        try:
            await self._replayer.replay(runtime.store, runtime.alerting, runtime.artifacts)
        except Exception as exc:  # the loop must outlive any one failure (a full disk)
            self.log.exception("spool.replay_error", error=type(exc).__name__, detail=str(exc))

    # -- reload --------------------------------------------------------------------

    async def reload(self) -> LoadedConfig:
        async with self._reload_lock:
            if self._stopped:
                raise RuntimeError("the service is stopped")
            # In a thread: parsing, validating and importing a newly named check kind would
            # otherwise hold the loop while running checks are inside their timings.  A
            # ConfigError: nothing changes.
            loaded = await asyncio.to_thread(load_config, self.loaded.path, self._env)
            if self._scheduling:
                require_declared_region(loaded, self._region)
            runtime = self._new_runtime(loaded)
            if not self._started:
                self._gen = _Generation(runtime)
                return loaded
            await runtime.open()  # a store that cannot open: nothing changes either
            if loaded.config.storage.url != self._gen.runtime.config.storage.url:
                self.log.warning(
                    "config.storage_changed",
                    detail="results go to the new store; the region lease stays where it was "
                    "until restart",
                )
            old, self._gen = self._gen, _Generation(runtime)
            if self._shard is not None:
                await self._shard_step()
            elif self._scheduler is not None:
                self._scheduler.update(
                    self._plans(), run_new_now=loaded.config.scheduler.run_at_start
                )
            retire = asyncio.create_task(self._retire(old), name="smokewatch-retire")
            self._old.add(old)
            self._retiring.add(retire)
            retire.add_done_callback(self._retiring.discard)
            self.log.info("config.reloaded", path=str(loaded.path), checks=self._check_names())
            return loaded

    async def _retire(self, gen: _Generation) -> None:
        try:
            if gen.tasks:
                await asyncio.wait(set(gen.tasks))
        finally:
            self._old.discard(gen)
            await gen.runtime.close()

    # -- leadership ----------------------------------------------------------------

    async def _lease_loop(self, lease: RegionLease) -> None:
        while True:
            await lease.wait_lost(self.loaded.config.scheduler.lease_poll.total_seconds())
            await self._lease_step(lease)

    async def _lease_step(self, lease: RegionLease) -> None:
        try:
            if lease.held:
                retaken = lease.retaken
                if not await lease.verify():
                    self._follow("another replica holds the lease")
                elif lease.retaken != retaken or self._lease_problem is not None:
                    self.log.info("lease.retaken", region=self._region)
            elif await lease.acquire():
                self._lead()
        except LeaseError as exc:
            if str(exc) != self._lease_problem:  # once per outage, not once per poll
                # A leader keeps leading (and probing) while the store is unreachable.
                self.log.warning(
                    "lease.unavailable", region=self._region, reason=str(exc), role=self._role
                )
            self._lease_problem = str(exc)
            return
        except Exception as exc:  # the standby loop must outlive any one failure
            self.log.exception("lease.error", error=type(exc).__name__, detail=str(exc))
            if lease.held and self._scheduler is None:
                # Leading without a scheduler would starve the region: let another replica lead.
                await lease.release()
        self._lease_problem = None

    def _lead(self) -> None:
        if self._shard is not None:  # sharing: the lease only marks the leader
            self._role = "leader"
            self.log.info("lease.acquired", region=self._region, sharded=True)
            return
        scheduler = CheckScheduler(self._run_scheduled, log=self.log, claim=self._claim)
        scheduler.start(self._plans(), run_at_start=self.loaded.config.scheduler.run_at_start)
        self._scheduler = scheduler
        self._role = "leader"
        self.log.info("lease.acquired", region=self._region, checks=self._check_names())

    def _follow(self, reason: str) -> None:
        if self._shard is not None:
            self._role = "member"
            self.log.warning("lease.lost", region=self._region, reason=reason, sharded=True)
            return
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        self._role = "standby"
        self.log.warning("lease.lost", region=self._region, reason=reason)

    # -- sharing the region's checks (monitor.scheduling.shard) ---------------------------------

    async def _join(self) -> None:
        settings = self.loaded.config.scheduler
        member = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._shard = Shard(
            member, role=self._shard_role, heartbeat_s=settings.heartbeat.total_seconds()
        )
        # Interval grids start at the epoch: every replica computes the same due times.
        self._scheduler = CheckScheduler(
            self._run_scheduled, log=self.log, claim=self._claim, anchor=EPOCH
        )
        self._scheduler.start({}, run_at_start=False)
        self._role = "member"
        await self._shard_step()
        self._shard_task = asyncio.create_task(self._shard_loop(), name="smokewatch-shard")
        self.log.info("shard.joined", region=self._region, member=member, role=self._shard_role)

    async def _leave(self) -> None:
        """Leave the region's members, and go on running this replica's jobs for one
        heartbeat while the others take them over (the run claims keep each due time single)."""
        shard = self._shard
        assert shard is not None  # noqa: S101 -- only called when sharing
        if self._shard_task is not None:
            self._shard_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._shard_task
        try:
            await MemberStore(self.store).leave(self._region, shard.member)
        except StoreError as exc:
            self.log.warning("shard.leave_failed", reason=str(exc))
            return  # the others drop this member when its heartbeat ages out
        grace = self.loaded.config.scheduler.shutdown_grace.total_seconds()
        self.log.info("shard.left", region=self._region, member=shard.member)
        await asyncio.sleep(min(shard.heartbeat_s, grace))

    async def _shard_loop(self) -> None:
        assert self._shard is not None  # noqa: S101 -- only started when sharing
        while True:
            await asyncio.sleep(self._shard.tick_s)
            try:
                await self._shard_step()
            except Exception as exc:  # the loop must outlive any one failure
                self.log.exception("shard.error", error=type(exc).__name__, detail=str(exc))

    async def _shard_step(self) -> None:
        """Heartbeat, read the live members, schedule this replica's share."""
        shard, scheduler = self._shard, self._scheduler
        assert shard is not None  # noqa: S101 -- only called when sharing
        assert scheduler is not None  # noqa: S101 -- created by _join
        now = datetime.now(UTC)
        members = MemberStore(self.store)
        try:
            await members.beat(
                self._region,
                shard.member,
                role=shard.role,
                started_at=self._joined_at,
                now=now,
            )
            live = await members.live(self._region, since=shard.live_since(now))
            if self._role == "leader" and time.monotonic() - self._claims_pruned_at > 60:
                await members.prune_claims(before=now - timedelta(seconds=CLAIMS_KEPT_S))
                self._claims_pruned_at = time.monotonic()
        except StoreError as exc:
            if str(exc) != self._shard_problem:  # keeps its share while the store is away
                self.log.warning("shard.store_unavailable", reason=str(exc))
            self._shard_problem = str(exc)
            return
        self._shard_problem = None
        if all(m.member != shard.member for m in live):
            live.append(Member(shard.member, shard.role, self._joined_at, now))
        plans = self._plans()
        scheduled = frozenset(shard.assign(self._gen.runtime.scheduled_checks(), live, now))
        if self._shard_jobs == (scheduled, plans):
            return
        self._shard_jobs = (scheduled, plans)
        scheduler.update(
            {n: p for n, p in plans.items() if n in scheduled}, run_new_now=False, known=plans
        )
        self.log.info(
            "shard.assigned",
            region=self._region,
            owned=len(shard.owned),
            handing_over=len(scheduled - shard.owned),
            members=shard.counts(),
        )

    async def _claim(self, check: str, due: datetime) -> bool:
        """Whether this replica runs ``check``'s run due at ``due`` (sharing: the first
        replica to claim it; store unreachable: its owner)."""
        now = datetime.now(UTC)
        late_s = max(0.0, (now - due).total_seconds())
        shard = self._shard
        if shard is None:
            self._late(late_s)
            return True
        run_id = new_run_id()
        try:
            won = await MemberStore(self.store).claim(
                self._region, check, due_at=due, member=shard.member, now=now, run_id=run_id
            )
        except StoreError as exc:
            won = check in shard.owned  # an outage must not stop the owner's runs
            # Logged each time: a run that may be doubled (or skipped here, handed over)
            # should be traceable to its check and due time.
            self.log.warning(
                "shard.claim_failed",
                check=check,
                due=due.isoformat(),
                runs=won,
                reason=str(exc),
            )
        if won:
            self._claimed[check] = run_id
            self._late(late_s)
        return won

    def _late(self, seconds: float) -> None:
        self.lateness.append(seconds)

    def _plans(self) -> dict[str, JobPlan]:
        runtime = self._gen.runtime
        return plan_jobs(runtime.config, runtime.scheduled_checks())

    def _check_names(self) -> list[str]:
        return [c.name for c in self._gen.runtime.scheduled_checks()]

    def _new_runtime(self, loaded: LoadedConfig) -> Runtime:
        runtime = Runtime(
            loaded,
            region=self._region,
            log_stream=self._log_stream,
            env=self._env,
            spool=self._spool,
        )
        if self._scheduling:
            runtime.watch(ShardCollector(self))
        return runtime


def require_declared_region(loaded: LoadedConfig, region: str) -> None:
    """``ConfigError`` when ``loaded`` declares regions and ``region`` is not among them.

    The CLI refuses such a start; a reload must not slip into the same state, where this
    instance would store results for a region the status page does not declare.
    """
    declared = loaded.config.regions
    if declared and region not in declared:
        problem = ConfigProblem(
            file=str(loaded.path),
            field="regions",
            message=f"this instance's region {region!r} is not declared "
            f"(regions: {', '.join(declared)}); restart it with --region to change region",
        )
        raise ConfigError([problem])
