"""Specifications of ``monitor.runtime.service.Service``: scheduling, run now, reload, stop,
readiness."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from examples.demo_target import TargetState
from monitor.contract import UnknownCheck
from monitor.errors import ConfigError
from monitor.runtime.service import Service
from monitor.store import ResultStore
from probes.base import Status
from tests.service.conftest import (
    HEALTH,
    STATUS,
    StartService,
    WriteConfig,
    eventually,
    slow_status,
)


async def count(service: Service, check: str) -> int:
    return len(await service.store.results(check, limit=1000))


class TestScheduling:
    async def test_checks_run_at_start_then_on_their_interval(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """Every check runs at start and again each interval; every result is stored."""
        running = await start_service(write_config(HEALTH + STATUS, interval="1s"))
        service = running.service
        assert service.role == "leader"

        async def two_each() -> bool:
            return await count(service, "health") >= 2 and await count(service, "status") >= 2

        await eventually(two_each, timeout_s=4)
        results = await service.store.results("health")
        assert {r.status for r in results} == {Status.PASS}
        assert {r.region for r in results} == {"local"}

    async def test_a_slow_check_is_never_overlapped_by_itself(
        self, write_config: WriteConfig, start_service: StartService, target: TargetState
    ) -> None:
        """A run longer than its interval makes the next ones wait: one check never overlaps."""
        slow_status(target, 1500)
        running = await start_service(write_config(STATUS, interval="1s"))

        async def two() -> bool:
            return await count(running.service, "status") >= 2

        await eventually(two, timeout_s=8)
        runs = sorted(await running.service.store.results("status"), key=lambda r: r.started_at)
        for before, after in itertools.pairwise(runs):
            gap_ms = (after.started_at - before.started_at).total_seconds() * 1000
            assert gap_ms >= before.duration_ms
        assert running.service.scheduler is not None
        assert running.service.scheduler.skipped["status"] >= 1

    async def test_without_the_scheduler_nothing_runs_by_itself(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """serve --no-scheduler: role api-only, no lease, no scheduled runs."""
        running = await start_service(write_config(HEALTH, interval="1s"), scheduler=False)
        await asyncio.sleep(1.2)
        assert running.service.role == "api-only"
        assert running.service.scheduler is None
        assert await count(running.service, "health") == 0


ELSEWHERE = """\
- name: health
  kind: http
  url: ${TARGET}/health
- name: off
  kind: http
  url: ${TARGET}/health
  enabled: false
- name: elsewhere
  kind: http
  url: ${TARGET}/health
  regions: [mars]
"""


class TestRunNow:
    async def test_runs_stores_and_returns_the_result(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """run_now runs the check at once, even without the scheduler, and stores its result."""
        running = await start_service(write_config(ELSEWHERE), scheduler=False)
        run = await running.service.run_now("health")
        assert run.check == "health"
        assert run.status is Status.PASS
        (stored,) = await running.service.store.results("health")
        assert stored.run_id == run.run_id

    @pytest.mark.parametrize(
        "name", ["nope", "off", "elsewhere"], ids=["unknown", "disabled", "other-region"]
    )
    async def test_refuses_a_check_this_region_does_not_run(
        self, write_config: WriteConfig, start_service: StartService, name: str
    ) -> None:
        """A check that does not exist, is disabled or runs elsewhere is UnknownCheck."""
        running = await start_service(write_config(ELSEWHERE), scheduler=False)
        with pytest.raises(UnknownCheck):
            await running.service.run_now(name)


class TestReload:
    async def test_a_changed_interval_takes_effect_and_history_stays(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """Shortening the interval on reload makes runs come faster; earlier results stay."""
        config = write_config(HEALTH, interval="1h")
        running = await start_service(config)
        service = running.service

        async def one() -> bool:
            return await count(service, "health") >= 1

        await eventually(one)
        write_config(HEALTH, interval="1s")
        await service.reload()
        assert service.scheduler is not None
        assert service.scheduler.plans["health"].interval_s == 1.0

        async def three() -> bool:
            return await count(service, "health") >= 3

        await eventually(three, timeout_s=6)
        assert running.events("config.reloaded")

    async def test_removed_checks_go_and_new_ones_come(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """A reload drops the jobs of removed checks and schedules (and runs) new ones."""
        running = await start_service(write_config(HEALTH, interval="1h"))
        service = running.service
        write_config(STATUS, interval="1h")
        loaded = await service.reload()
        assert [c.name for c in loaded.config.checks] == ["status"]
        assert service.scheduler is not None
        assert set(service.scheduler.plans) == {"status"}

        async def status_ran() -> bool:
            return await count(service, "status") >= 1

        await eventually(status_ran)

    async def test_a_bad_config_is_rejected_and_the_old_one_keeps_running(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """A reload of an invalid file raises ConfigError; the old config keeps scheduling."""
        config = write_config(HEALTH, interval="1s")
        running = await start_service(config)
        service = running.service
        before = service.loaded
        config.write_text(config.read_text() + "  - name: broken\n    kind: nonsense\n")
        with pytest.raises(ConfigError):
            await service.reload()
        assert service.loaded is before
        seen = await count(service, "health")

        async def more() -> bool:
            return await count(service, "health") >= seen + 2

        await eventually(more, timeout_s=6)

    async def test_a_reload_that_leaves_the_region_undeclared_is_rejected(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """A reload whose ``regions`` no longer holds this instance's region is a ConfigError."""
        config = write_config(HEALTH, interval="1s")
        config.write_text("regions: [eu, us]\n" + config.read_text())
        running = await start_service(config, region="eu")
        service = running.service
        before = service.loaded
        config.write_text(config.read_text().replace("[eu, us]", "[us]"))
        with pytest.raises(ConfigError, match="region 'eu' is not declared"):
            await service.reload()
        assert service.loaded is before

    async def test_a_run_in_flight_finishes_on_the_old_runtime(
        self, write_config: WriteConfig, start_service: StartService, target: TargetState
    ) -> None:
        """A run going during a reload completes and is stored before its runtime closes."""
        slow_status(target, 700)
        running = await start_service(write_config(STATUS, interval="1h"))
        service = running.service
        await asyncio.sleep(0.2)  # the run at start is waiting on the slow target
        write_config(HEALTH, interval="1h")
        await service.reload()
        await eventually(lambda: _has(service, "status"), timeout_s=3)
        assert not running.events("run.failed")


async def _has(service: Service, check: str) -> bool:
    return await count(service, check) >= 1


class TestStop:
    async def test_waits_for_a_running_check_within_the_grace(
        self, write_config: WriteConfig, target: TargetState, target_env: dict[str, str],
        db_file: str,
    ) -> None:  # fmt: skip
        """stop() during a run lets it finish and store its result, then closes."""
        from monitor.config.loader import load_config  # noqa: PLC0415 -- local to this test

        slow_status(target, 800)
        service = Service(load_config(write_config(STATUS, grace="5s"), target_env), env=target_env)
        await service.start()
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        async with asyncio.timeout(10):
            await service.stop()
        took = time.monotonic() - t0
        assert 0.4 < took < 3.0
        async with await ResultStore.open(db_file) as store:
            (result,) = await store.results("status")
        assert result.status is Status.PASS

    async def test_cancels_what_outlasts_the_grace(
        self, write_config: WriteConfig, target: TargetState, start_service: StartService
    ) -> None:
        """A run longer than shutdown_grace is cancelled; stop() returns soon after the grace."""
        slow_status(target, 4000)
        running = await start_service(write_config(STATUS, grace="300ms"))
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        await running.service.stop()
        assert time.monotonic() - t0 < 2.0
        assert running.events("service.runs_cancelled")[0]["runs"] == 1


class TestReadiness:
    async def test_a_leader_is_ready_with_store_and_scheduler(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """A leading replica reports store and scheduler ok."""
        running = await start_service(write_config(HEALTH, interval="1h"))
        readiness = await running.service.readiness()
        assert readiness.components == {"store": "ok", "scheduler": "ok"}
        assert readiness.role == "leader"
        assert readiness.ready

    async def test_api_only_has_no_scheduler_component(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """Without the scheduler, readiness is the store alone."""
        running = await start_service(write_config(HEALTH), scheduler=False)
        readiness = await running.service.readiness()
        assert readiness.components == {"store": "ok"}
        assert readiness.role == "api-only"

    async def test_a_stopped_service_is_not_ready(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """After stop(), readiness says so."""
        running = await start_service(write_config(HEALTH, interval="1h"))
        await running.service.stop()
        assert not (await running.service.readiness()).ready

    async def test_metrics_are_the_runtime_registry(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """metrics() is the current registry in Prometheus text, or OpenMetrics when asked."""
        running = await start_service(write_config(HEALTH, interval="1h"), scheduler=False)
        answer = await running.service.metrics()
        assert isinstance(answer.body, bytes)
        assert answer.content_type.startswith("text/plain")
        answer = await running.service.metrics("application/openmetrics-text")
        assert answer.content_type.startswith("application/openmetrics-text; version=1.0.0")
        assert answer.body.endswith(b"# EOF\n")


class TestSqliteLease:
    async def test_one_service_per_file_leads_and_the_standby_takes_over(
        self, write_config: WriteConfig, start_service: StartService
    ) -> None:
        """Two services on one SQLite file: one leads, the other is a ready standby, then leads."""
        config = write_config(HEALTH, interval="1h", lease_poll="100ms")
        first = await start_service(config)
        second = await start_service(config)
        assert (first.service.role, second.service.role) == ("leader", "standby")
        standby = await second.service.readiness()
        assert standby.ready
        assert standby.role == "standby"
        await first.service.stop()

        async def took_over() -> bool:
            return second.service.role == "leader"

        assert await eventually(took_over, timeout_s=2) < 1.0
