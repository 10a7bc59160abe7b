"""Region self-health over a real store (SQLite and PostgreSQL) with a controlled clock: while a
region's control check fails its other results are stored ``suspect`` and cast no vote, and one
``region_unhealthy/<region>`` alert goes out instead of an alert per check."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from monitor.alerting.region_health import SuspectMarker, judge
from monitor.config.regions import RegionHealthSettings
from monitor.runner import CheckRun
from monitor.store import ResultStore
from monitor.store.alerts import AlertStore
from probes.base import ProbeResult, Status
from tests.alerting.conftest import MakeHarness, at, loaded_config

RULE = """
alerts:
  - name: down
    condition: smoke_test.success < 0.9
    window: 5m
    notify: ["webhook:ops", "slack:#alerts"]
    checks: [api, status, web]
"""
CUSTOMER = ["api", "status", "web"]
CHECKS: list[dict[str, Any]] = [
    {"name": "canary", "kind": "http", "url": "http://127.0.0.1:9/", "control": True,
     "interval": "1m"},
    *({"name": n, "kind": "http", "url": f"http://127.0.0.1:9/{n}", "interval": "1m"}
      for n in CUSTOMER),
]  # fmt: skip
REGIONS = ("eu", "us")


def run(check: str, region: str, minutes: float, status: str) -> CheckRun:
    """A finished run as the runner hands it to the Runtime."""
    return CheckRun(
        check=check,
        kind="http",
        region=region,
        run_id=f"{check}-{region}-{minutes}".ljust(32, "0")[:32],
        started_at=at(minutes),
        duration_ms=40.0,
        attempts=1,
        result=ProbeResult(Status(status), f"{check} {status}", timings={"total": 40.0}),
    )


async def store_batch(store: ResultStore, runs: list[CheckRun], config: Any) -> list[CheckRun]:
    """What ``Runtime.run_once`` does with a batch: mark, then store."""
    marked = await SuspectMarker(config, AlertStore(store)).mark(runs)
    for one in marked:
        await store.add(one.to_record())
    return marked


def minute(
    minutes: float, eu: str, us: str = "pass", *, canary_eu: str | None = None
) -> list[CheckRun]:
    """One minute of runs: the canary and every customer check in both regions."""
    runs = [run("canary", "eu", minutes, canary_eu or eu), run("canary", "us", minutes, us)]
    runs += [run(c, "eu", minutes + 0.1, eu) for c in CUSTOMER]
    runs += [run(c, "us", minutes + 0.1, us) for c in CUSTOMER]
    return runs


class TestSuspectMarker:
    async def test_results_of_a_region_whose_control_fails_are_suspect(
        self, store: ResultStore
    ) -> None:
        """eu's control fails: eu's other results are suspect, us's and the control's are not."""
        config = loaded_config(RULE, checks=CHECKS, regions=REGIONS).config
        marked = await store_batch(store, minute(0, "fail"), config)
        status = {(r.check, r.region): r.status for r in marked}
        assert {status[(c, "eu")] for c in CUSTOMER} == {Status.SUSPECT}
        assert {status[(c, "us")] for c in CUSTOMER} == {Status.PASS}
        assert status[("canary", "eu")] is Status.FAIL
        api = next(r for r in marked if (r.check, r.region) == ("api", "eu"))
        assert api.result.details["suspect"] == {"status": "fail", "controls": ["canary"]}
        stored = {(r.check, r.region): r.status for r in await store.latest()}
        assert stored[("api", "eu")] is Status.SUSPECT

    async def test_a_stored_failing_control_marks_a_later_batch(self, store: ResultStore) -> None:
        """The control ran alone (its own schedule); the next check run reads it from the store."""
        config = loaded_config(RULE, checks=CHECKS, regions=REGIONS).config
        await store_batch(store, [run("canary", "eu", 0, "fail")], config)
        marked = await store_batch(store, [run("api", "eu", 0.5, "pass")], config)
        assert marked[0].status is Status.SUSPECT
        await store_batch(store, [run("canary", "eu", 1, "pass")], config)
        marked = await store_batch(store, [run("api", "eu", 1.5, "fail")], config)
        assert marked[0].status is Status.FAIL

    async def test_a_stale_control_result_marks_nothing(self, store: ResultStore) -> None:
        """A control failure older than two intervals plus the timeout is no longer believed."""
        config = loaded_config(RULE, checks=CHECKS, regions=REGIONS).config
        await store_batch(store, [run("canary", "eu", 0, "fail")], config)
        marked = await store_batch(store, [run("api", "eu", 5, "fail")], config)
        assert marked[0].status is Status.FAIL

    async def test_a_late_heartbeat_is_never_made_suspect(self, store: ResultStore) -> None:
        """A job's pings do not cross the monitor's network: its fail stands while eu's control
        fails, where an http check's is suspect."""
        config = loaded_config(RULE, checks=CHECKS, regions=REGIONS).config
        late = dataclasses.replace(run("backup", "eu", 0.1, "fail"), kind="heartbeat")
        marked = await store_batch(store, [run("canary", "eu", 0, "fail"), late], config)
        assert [r.status for r in marked] == [Status.FAIL, Status.FAIL]
        marked = await store_batch(store, [run("api", "eu", 0.2, "fail")], config)
        assert marked[0].status is Status.SUSPECT

    async def test_without_control_checks_nothing_changes(self, store: ResultStore) -> None:
        """No ``control: true`` check: the batch is stored as it came."""
        config = loaded_config(RULE, checks=CHECKS[1:], regions=REGIONS).config
        runs = [run("api", "eu", 0, "fail")]
        assert await store_batch(store, runs, config) == runs


class TestJudge:
    @pytest.mark.parametrize(
        ("failed", "bad", "good"),
        [
            pytest.param([True], False, False, id="one-failure-is-not-enough"),
            pytest.param([True, True], True, False, id="two-of-two"),
            pytest.param([True, False, True], True, False, id="two-of-three"),
            pytest.param([True, False, False, True], False, False, id="one-of-the-last-three"),
            pytest.param([True, True, False], False, True, id="a-pass-recovers"),
        ],
    )
    def test_confirmation_is_k_of_n_with_min_samples(
        self, failed: list[bool], bad: bool, good: bool
    ) -> None:
        """Defaults: 2 of the last 3 runs, at least 2; the last run passing recovers."""
        votes = {"canary": [(at(i), f) for i, f in enumerate(failed)]}
        verdict = judge(RegionHealthSettings(), votes)
        assert (verdict.bad, verdict.good) == (bad, good)

    def test_every_control_must_fail(self) -> None:
        """Two controls: one passing keeps the region healthy."""
        votes = {
            "a": [(at(0), True), (at(1), True)],
            "b": [(at(0), False), (at(1), False)],
        }
        assert judge(RegionHealthSettings(), votes).bad is False


class TestRegionUnhealthy:
    async def test_one_alert_for_the_region_and_none_per_check(
        self, make_harness: MakeHarness
    ) -> None:
        """eu loses its network for 5 minutes: one region_unhealthy firing and one resolved per
        target, no alert of any customer check, and eu's results meanwhile are suspect."""
        loaded = loaded_config(RULE, checks=CHECKS, regions=REGIONS)
        harness = await make_harness(loaded)
        for m in range(5):
            await store_batch(harness.store, minute(m, "fail"), loaded.config)
            await harness.evaluate(m + 0.5)
        for m in range(5, 8):
            await store_batch(harness.store, minute(m, "pass"), loaded.config)
            await harness.evaluate(m + 0.5)
        rows = await harness.outbox()
        assert sorted((r.payload["kind"], r.alert_key, r.target) for r in rows) == [
            ("firing", "region_unhealthy/eu", "slack:#alerts"),
            ("firing", "region_unhealthy/eu", "webhook:ops"),
            ("resolved", "region_unhealthy/eu", "slack:#alerts"),
            ("resolved", "region_unhealthy/eu", "webhook:ops"),
        ]
        firing = next(r.payload for r in rows if r.payload["kind"] == "firing")
        assert (firing["rule"], firing["severity"], firing["regions"]) == (
            "region_unhealthy",
            "critical",
            ["eu"],
        )
        assert "Region eu is unhealthy" in firing["summary"]
        states = await harness.alerting.alerts.states()
        assert set(states) == {"region_unhealthy/eu"}
        stored = await harness.store.results(check="api", region="eu")
        assert [r.status for r in stored].count(Status.SUSPECT) == 5

    async def test_check_alerts_starting_while_the_region_is_unhealthy_are_held(
        self, make_harness: MakeHarness
    ) -> None:
        """A check alert that would start while region_unhealthy is pending or firing is
        recorded inhibited by it and not notified."""
        rules = RULE.replace("    window: 5m\n", "    window: 5m\n    no_data: alert\n")
        loaded = loaded_config(rules, checks=CHECKS, regions=REGIONS)
        harness = await make_harness(loaded)
        for m in range(3):
            await store_batch(harness.store, minute(m, "fail"), loaded.config)
            await harness.evaluate(m + 0.5)
        # With `no_data: alert`, suspect-only windows would page "no data" per check: held,
        # from the first failing control run (region_unhealthy pending) on.
        states = await harness.alerting.alerts.states()
        held = {k: s for k, s in states.items() if s.state == "inhibited"}
        assert held
        assert {s.inhibited_by for s in held.values()} == {"region_unhealthy/eu"}
        kinds = {(r.payload["kind"], r.alert_key) for r in await harness.outbox()}
        assert {key for _, key in kinds} == {"region_unhealthy/eu"}

    async def test_configured_targets_and_severity(self, make_harness: MakeHarness) -> None:
        """``alerting.region_health`` chooses who hears it and how loud."""
        checks = [{**c, "regions": ["eu"]} for c in CHECKS]
        loaded = loaded_config(RULE, checks=checks, regions=("eu",))
        health = RegionHealthSettings(notify=("webhook:infra",), severity="warning")
        alerting = loaded.config.alerting.model_copy(update={"region_health": health})
        config = loaded.config.model_copy(update={"alerting": alerting})
        loaded = type(loaded)(config, loaded.rules, loaded.secrets, loaded.path, None)
        harness = await make_harness(loaded)
        for m in range(2):
            await store_batch(harness.store, [run("canary", "eu", m, "fail")], config)
            await harness.evaluate(m + 0.5)
        rows = await harness.outbox()
        assert [(r.target, r.payload["severity"]) for r in rows] == [("webhook:infra", "warning")]


class TestHoldBeforeTheControlFails:
    """The region's control check vouches for a check's failures before they page."""

    async def test_failures_stored_before_the_controls_failing_run_never_page(
        self, make_harness: MakeHarness
    ) -> None:
        """eu's network goes at 0.5: api fails twice (0.6, 0.9, confirmed) before the canary's
        failing run (at 1) is stored; those failures are held, then the region alert takes
        over, and api pages nothing when the network is back."""
        loaded = loaded_config(RULE, checks=CHECKS, regions=REGIONS)
        harness = await make_harness(loaded)
        await store_batch(harness.store, minute(0, "pass"), loaded.config)
        await harness.evaluate(0.2)
        for m in (0.6, 0.9):
            await store_batch(harness.store, [run("api", "eu", m, "fail")], loaded.config)
            await harness.evaluate(m + 0.05)
        api = (await harness.alerting.alerts.states())["down/api/eu"]
        assert (api.state, api.inhibited_by) == ("inhibited", "region_unhealthy/eu")
        for m in range(1, 4):
            await store_batch(harness.store, minute(m, "fail"), loaded.config)
            await harness.evaluate(m + 0.5)
        for m in range(4, 7):
            await store_batch(harness.store, minute(m, "pass"), loaded.config)
            await harness.evaluate(m + 0.5)
        keys = {r.alert_key for r in await harness.outbox()}
        assert keys == {"region_unhealthy/eu"}

    async def test_a_check_failing_while_the_control_passes_pages(
        self, make_harness: MakeHarness
    ) -> None:
        """Never hide an outage: api fails while the canary passes after its first failure."""
        loaded = loaded_config(RULE, checks=CHECKS, regions=REGIONS)
        harness = await make_harness(loaded)
        for m in range(3):
            runs = [run("canary", "eu", m, "pass"), run("api", "eu", m + 0.1, "fail")]
            await store_batch(harness.store, runs, loaded.config)
            await harness.evaluate(m + 0.5)
        assert {(r.payload["kind"], r.alert_key) for r in await harness.outbox()} == {
            ("firing", "down/api/eu")
        }
