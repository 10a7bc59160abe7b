"""Specifications of ``monitor.scheduling.scheduler``: triggers, jitter, job plans and the job
loop."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.cron import cron_trigger, crontab_weekdays
from monitor.config.loader import load_config
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.scheduling.scheduler import CheckScheduler, JobPlan, plan_jobs
from tests.service.conftest import WriteConfig


def plan(name: str, interval_s: float, *, cron: str | None = None) -> JobPlan:
    return JobPlan(check=name, interval_s=interval_s, cron=cron, jitter_s=0.0, misfire_grace_s=60)


def logger(stream: io.StringIO) -> object:
    return make_logger(Redactor(frozenset()), fmt="json", stream=stream)


def events(stream: io.StringIO, name: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    return [e for e in lines if e["event"] == name]


class TestCrontabWeekdays:
    @pytest.mark.parametrize(
        ("field", "expected"),
        [
            ("*", "*"),
            ("0", "sun"),
            ("7", "sun"),
            ("1-5", "mon,tue,wed,thu,fri"),
            ("5-7", "sun,fri,sat"),
            ("*/2", "sun,tue,thu,sat"),
            ("1/2", "mon,wed,fri"),
            ("mon-wed,sat", "mon,tue,wed,sat"),
            ("SUN", "sun"),
        ],
        ids=["any", "zero-is-sunday", "seven-is-sunday", "weekdays", "range-to-7", "step",
             "start-step", "names", "upper-case"],
    )  # fmt: skip
    def test_means_what_crontab_means(self, field: str, expected: str) -> None:
        """Day-of-week fields keep crontab's Sunday-first numbering under APScheduler 3."""
        assert crontab_weekdays(field) == expected

    @pytest.mark.parametrize(
        "field",
        ["8", "5-1", "xyz", "1-"],
        ids=["too-big", "backwards", "unknown-name", "open-range"],
    )
    def test_rejects_what_crontab_rejects(self, field: str) -> None:
        """A day-of-week that is not crontab is a ValueError naming it."""
        with pytest.raises(ValueError, match="day-of-week"):
            crontab_weekdays(field)


class TestCronTrigger:
    def test_weekday_crontab_fires_on_monday(self) -> None:
        """'0 9 * * 1' fires Monday 09:00 UTC, as crontab would (APScheduler alone says Tuesday)."""
        trigger = cron_trigger("0 9 * * 1")
        sunday = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)
        assert trigger.get_next_fire_time(None, sunday) == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

    def test_wrong_field_count_is_refused(self) -> None:
        """A cron expression needs exactly five fields."""
        with pytest.raises(ValueError, match="5 fields"):
            cron_trigger("* * * *")


# Three checks: 10 s and 1 h intervals and an hourly cron.
THREE_CHECKS = """\
    - name: fast
      kind: http
      url: http://127.0.0.1:1/
      interval: 10s
    - name: slow
      kind: http
      url: http://127.0.0.1:1/
      interval: 1h
    - name: hourly
      kind: http
      url: http://127.0.0.1:1/
      cron: "0 * * * *"
    """


def jittered_plans(write_config: WriteConfig) -> dict[str, JobPlan]:
    """The plans of ``THREE_CHECKS`` with ``scheduler.jitter: 30s``."""
    config = write_config(THREE_CHECKS)
    config.write_text(config.read_text().replace("jitter: 0s", "jitter: 30s"))
    loaded = load_config(config, {})
    return plan_jobs(loaded.config, loaded.config.checks)


class TestPlanJobs:
    def test_jitter_is_capped_at_half_the_period(
        self, write_config: WriteConfig, tmp_path: Path
    ) -> None:
        """Jitter is scheduler.jitter, at most half of each check's interval or cron period."""
        plans = jittered_plans(write_config)
        assert {name: p.jitter_s for name, p in plans.items()} == {
            "fast": 5.0,
            "slow": 30.0,
            "hourly": 30.0,
        }
        assert plans["hourly"].cron == "0 * * * *"
        assert plans["fast"].misfire_grace_s == 300


def crowd_plans(write_config: WriteConfig, *, jitter: str = "30s") -> dict[str, JobPlan]:
    """300 HTTP checks every 10 minutes, 100 every minute, 30 browser checks every 10
    minutes; ``runner.concurrency`` 2, ``browser_concurrency`` 1."""
    checks = [
        f"- {{name: h{n}, kind: http, url: 'http://127.0.0.1:1/', interval: 10m}}"
        for n in range(300)
    ]
    checks += [
        f"- {{name: m{n}, kind: http, url: 'http://127.0.0.1:1/', interval: 1m}}"
        for n in range(100)
    ]
    checks += [
        f"- {{name: b{n}, kind: browser, url: 'http://127.0.0.1:1/', interval: 10m}}"
        for n in range(30)
    ]
    config = write_config("\n".join(checks) + "\n")
    text = config.read_text().replace("jitter: 0s", f"jitter: {jitter}")
    config.write_text(text + "runner: {concurrency: 2, browser_concurrency: 1}\n")
    loaded = load_config(config, {})
    return plan_jobs(loaded.config, loaded.config.checks)


class TestCrowdsAreSpread:
    def test_a_crowd_sharing_a_period_is_spread_to_concurrency_runs_a_second(
        self, write_config: WriteConfig
    ) -> None:
        """300 checks every 10 minutes with concurrency 2 are spread over 150 s, not the 30 s
        jitter: 2 runs fall due a second on average, so none waits for a runner slot."""
        plans = crowd_plans(write_config)
        crowd = [p for name, p in plans.items() if name.startswith("h")]
        assert {p.jitter_s for p in crowd} == {150.0}
        offsets = sorted(p.offset_s for p in crowd)
        assert offsets[-1] - offsets[0] > 120  # the delays use the whole spread
        busiest = max(Counter(int(o) for o in offsets).values())
        assert busiest < 10  # 300 in one 30 s window would put about 10 in every second

    def test_each_pool_and_period_is_a_crowd_of_its_own_capped_at_half_the_period(
        self, write_config: WriteConfig
    ) -> None:
        """Browser checks wait in their own pool (30 at 1 a second: 30 s, not counted with
        the HTTP checks); 100 one-minute checks would need 50 s, but get half their period."""
        plans = crowd_plans(write_config)
        spread = {name[0]: p.jitter_s for name, p in plans.items()}
        assert spread == {"h": 150.0, "m": 30.0, "b": 30.0}

    def test_no_jitter_is_no_spread(self, write_config: WriteConfig) -> None:
        """``scheduler.jitter: 0s`` keeps every check on its slot, however crowded."""
        plans = crowd_plans(write_config, jitter="0s")
        assert {p.jitter_s for p in plans.values()} == {0.0}
        assert {p.offset_s for p in plans.values()} == {0.0}


def fire_times(trigger: object, start: datetime, runs: int) -> list[datetime]:
    """The fire times APScheduler would use: each from the previous one, as after a run."""
    times = [trigger.get_next_fire_time(None, start)]  # type: ignore[attr-defined]
    while len(times) < runs:
        times.append(trigger.get_next_fire_time(times[-1], times[-1]))  # type: ignore[attr-defined]
    return times


class TestScheduleKeepsTime:
    def test_jittered_interval_check_fires_exactly_every_interval(
        self, write_config: WriteConfig
    ) -> None:
        """With scheduler.jitter set, a 10 s check's fire times are exactly 10 s apart."""
        plans = jittered_plans(write_config)
        start = datetime(2025, 3, 1, 12, 0, 7, tzinfo=UTC)
        times = fire_times(plans["fast"].trigger(start), start, 50)
        gaps = {later - earlier for earlier, later in itertools.pairwise(times)}
        assert gaps == {timedelta(seconds=10)}

    def test_cron_check_keeps_its_slot_plus_a_fixed_delay(self, write_config: WriteConfig) -> None:
        """An hourly cron check fires at the same delay after every hour."""
        plans = jittered_plans(write_config)
        start = datetime(2025, 3, 1, 12, 5, tzinfo=UTC)
        times = fire_times(plans["hourly"].trigger(start), start, 24)
        delays = {t - t.replace(minute=0, second=0, microsecond=0) for t in times}
        assert delays == {timedelta(seconds=plans["hourly"].offset_s)}
        assert times[0] == datetime(2025, 3, 1, 13, 0, tzinfo=UTC) + delays.pop()

    def test_each_check_has_its_own_fixed_delay(self, write_config: WriteConfig) -> None:
        """The delay comes from the check's name: the same in every plan, different per check,
        within the jitter; a run at start is followed by a run an interval plus the delay later."""
        first = jittered_plans(write_config)
        again = jittered_plans(write_config)
        offsets = {name: p.offset_s for name, p in first.items()}
        assert offsets == {name: p.offset_s for name, p in again.items()}
        assert len(set(offsets.values())) == 3
        assert all(0 <= offsets[name] < first[name].jitter_s for name in offsets)
        started = datetime(2025, 3, 1, 12, 0, 59, 500000, tzinfo=UTC)
        after_start = first["slow"].trigger(started).get_next_fire_time(started, started)
        assert after_start == started + timedelta(seconds=3600 + offsets["slow"])


class TestCheckScheduler:
    async def test_runs_each_job_at_start_then_on_its_interval(self) -> None:
        """Each check runs at once, then every interval, by its own name."""
        calls: list[tuple[str, float]] = []
        loop = asyncio.get_running_loop()

        async def run(name: str) -> None:
            calls.append((name, loop.time()))

        scheduler = CheckScheduler(run, log=logger(io.StringIO()))
        t0 = loop.time()
        scheduler.start({"a": plan("a", 0.3), "b": plan("b", 10)}, run_at_start=True)
        try:
            await asyncio.sleep(0.75)
        finally:
            scheduler.stop()
        a_times = [t - t0 for name, t in calls if name == "a"]
        assert [name for name, _ in calls].count("b") == 1
        assert len(a_times) == 3
        assert a_times[0] < 0.1

    async def test_without_run_at_start_the_first_run_waits_an_interval(self) -> None:
        """With run_at_start off, nothing runs before the first interval has passed."""
        calls: list[str] = []

        async def run(name: str) -> None:
            calls.append(name)

        scheduler = CheckScheduler(run, log=logger(io.StringIO()))
        scheduler.start({"a": plan("a", 0.4)}, run_at_start=False)
        try:
            await asyncio.sleep(0.2)
            assert calls == []
            await asyncio.sleep(0.35)
        finally:
            scheduler.stop()
        assert calls == ["a"]

    async def test_a_failing_run_is_logged_and_the_schedule_goes_on(self) -> None:
        """An exception from a run is logged; the job keeps running on its interval."""
        stream = io.StringIO()
        calls: list[str] = []

        async def run(name: str) -> None:
            calls.append(name)
            raise RuntimeError("boom")

        scheduler = CheckScheduler(run, log=logger(stream))
        scheduler.start({"a": plan("a", 0.2)}, run_at_start=True)
        try:
            await asyncio.sleep(0.5)
            assert scheduler.running
        finally:
            scheduler.stop()
        assert len(calls) >= 2
        failed = events(stream, "scheduler.run_failed")
        assert failed[0]["check"] == "a"
        assert failed[0]["detail"] == "boom"

    async def test_a_slow_run_is_never_overlapped_by_itself(self) -> None:
        """max_instances=1: a run outlasting its interval makes the next ones skip, not overlap."""
        stream = io.StringIO()
        active = 0
        most = 0
        starts = 0

        async def run(name: str) -> None:
            nonlocal active, most, starts
            starts += 1
            active += 1
            most = max(most, active)
            await asyncio.sleep(0.45)
            active -= 1

        scheduler = CheckScheduler(run, log=logger(stream))
        scheduler.start({"a": plan("a", 0.1)}, run_at_start=True)
        try:
            await asyncio.sleep(1.0)
        finally:
            scheduler.stop()
        assert most == 1
        assert 2 <= starts <= 3
        assert scheduler.skipped["a"] >= 3
        assert events(stream, "scheduler.run_skipped")[0]["reason"] == "still running"

    async def test_due_times_folded_by_a_late_loop_are_logged_and_counted(self) -> None:
        """An event loop held past several due times runs the check once for them (coalesce),
        and each due time folded away is a ``scheduler.run_skipped`` count, never silence."""
        stream = io.StringIO()
        starts = 0

        async def run(name: str) -> None:
            nonlocal starts
            starts += 1
            if starts == 1:
                time.sleep(0.75)  # noqa: ASYNC251 -- the loop held on purpose: ~7 due times late

        scheduler = CheckScheduler(run, log=logger(stream))
        scheduler.start({"a": plan("a", 0.1)}, run_at_start=True)
        try:
            await asyncio.sleep(1.2)
        finally:
            scheduler.stop()
        folded = [e for e in events(stream, "scheduler.run_skipped") if e["reason"] == "folded"]
        assert folded, stream.getvalue()
        assert scheduler.skipped["a"] == sum(int(str(e["due_times"])) for e in folded) >= 4
        assert all(str(e["first_due"]) < str(e["ran_for"]) for e in folded)

    async def test_update_reschedules_only_what_changed(self) -> None:
        """A changed interval reschedules, an unchanged job keeps its next run, a gone one goes."""

        async def run(name: str) -> None:
            return None

        scheduler = CheckScheduler(run, log=logger(io.StringIO()))
        scheduler.start(
            {"same": plan("same", 60), "changed": plan("changed", 60), "gone": plan("gone", 60)},
            run_at_start=False,
        )
        try:
            same_next = scheduler.next_run("same")
            scheduler.update(
                {"same": plan("same", 60), "changed": plan("changed", 5), "new": plan("new", 60)},
                run_new_now=True,
            )
            assert set(scheduler.plans) == {"same", "changed", "new"}
            assert scheduler.next_run("same") == same_next
            changed_next = scheduler.next_run("changed")
            assert changed_next is not None
            assert changed_next - datetime.now(UTC) < timedelta(seconds=5.5)
            assert scheduler.next_run("gone") is None
        finally:
            scheduler.stop()
        assert scheduler.plans == {}

    async def test_a_bad_cron_is_logged_and_left_out(self) -> None:
        """A cron expression APScheduler cannot parse is logged; the other jobs still run."""
        stream = io.StringIO()

        async def run(name: str) -> None:
            return None

        scheduler = CheckScheduler(run, log=logger(stream))
        scheduler.start(
            {"good": plan("good", 60), "bad": plan("bad", 60, cron="99 * * * *")},
            run_at_start=False,
        )
        try:
            assert set(scheduler.plans) == {"good"}
        finally:
            scheduler.stop()
        assert events(stream, "scheduler.bad_schedule")[0]["check"] == "bad"


class TestRecheck:
    async def test_a_failed_run_is_rechecked_once_before_the_next_interval(self) -> None:
        """A run returning False brings one recheck after recheck_s; a failed recheck no more."""
        calls: list[str] = []

        async def run(name: str) -> bool:
            calls.append(name)
            return False

        stream = io.StringIO()
        scheduler = CheckScheduler(run, log=logger(stream))
        recheck = dataclasses.replace(plan("a", 60), recheck_s=0.2)
        scheduler.start({"a": recheck}, run_at_start=True)
        try:
            for _ in range(100):  # bounded polling: the recheck runs ~0.2 s after the first
                if len(calls) >= 2:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # room for a (wrong) second recheck
        finally:
            scheduler.stop()
        assert calls == ["a", "a"]
        assert events(stream, "scheduler.recheck")[0]["check"] == "a"

    async def test_no_recheck_after_a_passing_run_or_when_disabled(self) -> None:
        """A passing run, or recheck_s 0, leaves the check to its interval."""
        calls: list[str] = []

        async def run(name: str) -> bool:
            calls.append(name)
            return name == "ok"

        scheduler = CheckScheduler(run, log=logger(io.StringIO()))
        plans = {
            "ok": dataclasses.replace(plan("ok", 60), recheck_s=0.1),
            "off": plan("off", 60),
        }
        scheduler.start(plans, run_at_start=True)
        try:
            await asyncio.sleep(0.5)
        finally:
            scheduler.stop()
        assert sorted(calls) == ["off", "ok"]

    async def test_a_recheck_later_than_the_next_run_is_not_scheduled(self) -> None:
        """With recheck >= interval the regular run comes first: no recheck job is added."""

        async def run(name: str) -> bool:
            return False

        stream = io.StringIO()
        scheduler = CheckScheduler(run, log=logger(stream))
        scheduler.start({"a": dataclasses.replace(plan("a", 60), recheck_s=120)}, run_at_start=True)
        try:
            await asyncio.sleep(0.3)
        finally:
            scheduler.stop()
        assert events(stream, "scheduler.recheck") == []

    def test_plan_jobs_carries_the_configured_recheck(self, tmp_path: Path) -> None:
        """scheduler.recheck defaults to 1 minute and reaches every job's plan."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            "alert_rules: null\nchecks:\n  - name: a\n    kind: http\n    url: http://127.0.0.1:1/\n"
        )
        loaded = load_config(path, {})
        assert plan_jobs(loaded.config, loaded.config.checks)["a"].recheck_s == 60.0


class TestVouchRuns:
    """A failing run runs its holders at once, so the engine's hold lasts one holder run."""

    async def test_a_failing_run_runs_its_control_and_parent_at_once(self) -> None:
        """Two children fail after their holders ran: the control and the parent run once
        more each at once, not at their 60 s interval (one vouch per holder, however many
        children failed; the parent's vouch run passes, so it vouches for nothing more)."""
        calls: list[str] = []

        async def run(name: str) -> bool:
            calls.append(name)
            return name in ("ctl", "db")

        stream = io.StringIO()
        scheduler = CheckScheduler(run, log=logger(stream))
        holders = ("db", "ctl")
        plans = {
            "ctl": plan("ctl", 60),
            "db": dataclasses.replace(plan("db", 60), holders=("ctl",)),
        }
        scheduler.start(plans, run_at_start=True)
        try:
            for _ in range(60):  # bounded polling throughout
                if "ctl" in calls and "db" in calls:
                    break
                await asyncio.sleep(0.05)
            children = {
                "app-1": dataclasses.replace(plan("app-1", 60), holders=holders),
                "app-2": dataclasses.replace(plan("app-2", 60), holders=holders),
            }
            scheduler.update({**plans, **children}, run_new_now=True)
            for _ in range(60):
                if calls.count("ctl") >= 2 and calls.count("db") >= 2:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # room for a (wrong) third run
        finally:
            scheduler.stop()
        assert calls.count("ctl") == 2
        assert calls.count("db") == 2
        assert calls.count("app-1") == calls.count("app-2") == 1
        vouched = {e["check"] for e in events(stream, "scheduler.vouch")}
        assert vouched == {"ctl", "db"}

    async def test_no_vouch_when_the_holder_started_after_the_failing_run(self) -> None:
        """A holder run that started while the child was failing already vouches: no extra."""
        calls: list[str] = []
        release = asyncio.Event()

        async def run(name: str) -> bool:
            calls.append(name)
            if name == "app":
                await release.wait()
                return False
            return True

        stream = io.StringIO()
        scheduler = CheckScheduler(run, log=logger(stream))
        child = dataclasses.replace(plan("app", 60), holders=("ctl",))
        scheduler.start({"app": child}, run_at_start=True)
        try:
            for _ in range(40):
                if calls:
                    break
                await asyncio.sleep(0.05)
            scheduler.update({"app": child, "ctl": plan("ctl", 60)}, run_new_now=True)
            for _ in range(40):
                if "ctl" in calls:
                    break
                await asyncio.sleep(0.05)
            release.set()  # the child's run, started before the control's, fails now
            await asyncio.sleep(0.4)
        finally:
            scheduler.stop()
        assert calls.count("ctl") == 1
        assert events(stream, "scheduler.vouch") == []

    def test_plan_jobs_names_each_checks_holders(self, tmp_path: Path) -> None:
        """Holders: ancestors by depends_on (nearest first), then the control checks; a
        control check has no control holders."""
        path = tmp_path / "smokewatch.yaml"
        url = "http://127.0.0.1:1/"
        path.write_text(
            "alert_rules: null\nchecks:\n"
            f"  - {{name: canary, kind: http, url: '{url}', control: true}}\n"
            f"  - {{name: db, kind: http, url: '{url}'}}\n"
            f"  - {{name: api, kind: http, url: '{url}', depends_on: [db]}}\n"
            f"  - {{name: web, kind: http, url: '{url}', depends_on: [api]}}\n"
        )
        loaded = load_config(path, {})
        plans = plan_jobs(loaded.config, loaded.config.checks)
        assert plans["web"].holders == ("api", "db", "canary")
        assert plans["api"].holders == ("db", "canary")
        assert plans["db"].holders == ("canary",)
        assert plans["canary"].holders == ()
