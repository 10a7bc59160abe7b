"""Votes leave quorums while their region's control check does not vouch for them (real
store, SQLite and PostgreSQL, controlled clock): a rule over regions (``min_regions: 2``)
never counts a region whose network may be the one that is broken."""

from __future__ import annotations

from typing import Any

from tests.alerting.conftest import MakeHarness, loaded_config
from tests.alerting.test_region_health import CHECKS, REGIONS, run, store_batch

RULE = """
alerts:
  - name: down
    condition: smoke_test.success < 0.9
    window: 5m
    min_regions: 2
    notify: ["webhook:ops"]
    checks: [api]
"""


async def api_alerts(harness: Any) -> list[tuple[str, str]]:
    rows = await harness.outbox()
    return [(r.payload["kind"], r.alert_key) for r in rows if r.alert_key.startswith("down/")]


async def alerts_after_two_failing_runs_in_both(
    make_harness: MakeHarness, eu_canary_later: str
) -> list[tuple[str, str]]:
    """Both canaries pass at 0; api fails in both regions at 0.6 and 0.9; at 1 eu's canary
    runs with ``eu_canary_later`` (us's passes).  The alerts the rule sent by 1.05."""
    loaded = loaded_config(RULE, checks=CHECKS, regions=REGIONS)
    harness = await make_harness(loaded)
    canaries = [run("canary", "eu", 0, "pass"), run("canary", "us", 0, "pass")]
    await store_batch(harness.store, canaries, loaded.config)
    for m in (0.6, 0.9):
        failing = [run("api", "eu", m, "fail"), run("api", "us", m, "fail")]
        await store_batch(harness.store, failing, loaded.config)
        await harness.evaluate(m + 0.05)
    canaries = [run("canary", "eu", 1, eu_canary_later), run("canary", "us", 1, "pass")]
    await store_batch(harness.store, canaries, loaded.config)
    await harness.evaluate(1.05)
    return await api_alerts(harness)


class TestQuorumHold:
    async def test_a_region_losing_its_network_leaves_the_quorum(
        self, make_harness: MakeHarness
    ) -> None:
        """eu's network goes at 0.5 and us has two failing runs: eu's failures (stored before
        its canary's failing run) are not counted, so the 2-region rule does not fire."""
        assert await alerts_after_two_failing_runs_in_both(make_harness, "fail") == []

    async def test_failures_its_controls_vouch_for_count(self, make_harness: MakeHarness) -> None:
        """Never hide an outage: both canaries pass after api's failures, so both regions are
        counted and the rule fires."""
        assert await alerts_after_two_failing_runs_in_both(make_harness, "pass") == [
            ("firing", "down/api/*")
        ]
