"""bench/chaos.py at a small size: the table is complete and every goal of the verdict
holds (0 false alerts, every outage caught within the README's bounds with exactly one
firing and one resolved notification, dependents held, one region-unhealthy alert for a
lost region, flap damping)."""

from __future__ import annotations

import pytest

from bench import chaos

ROWS = (
    "check runs",
    "false alerts",
    "outages caught",
    "detection, intervals",
    "recovery, intervals",
    "notifications per outage alert group",
    "notifications by kind",
)


class TestReplaySmall:
    """The replay scenario over 3 simulated minutes (one run of the bench, ~15 s)."""

    async def test_table_is_complete_and_counts_are_sane(self) -> None:
        """Every figure is printed; runs cover every check and region; an outage is caught."""
        figures = await chaos.measure("replay", chaos.parse(["--minutes", "3"]))
        table = chaos.format_table(figures)
        assert table.startswith("== replay | rules: spec (window 1m)")
        for row in ROWS:
            assert row in table, row
        counts = figures.counts
        assert counts["runs"] >= 6 * 2 * 50
        assert 0 < counts["outages_caught"] <= counts["outages"] == 3
        assert counts["false_alerts"] == 0
        assert counts["detected"] == counts["detected_within"] > 0
        assert counts["notifications"] > 0


class TestChaosSmall:
    """The chaos scenario over 3 simulated hours: 3 regions x 11 checks every 5 min
    (a control, 2 services and a flow with cleanup, a parent with 5 dependents, a flapping
    target), 5 % noise, a region losing its network, a parent outage and three outages
    of 10, 20 and 30 min (about 1,200 runs, ~1 min)."""

    @pytest.mark.timeout(900)  # a hang guard: ~2 min alone, over 400 s at load 10 on 2 cores
    async def test_every_goal_of_the_verdict_holds(self) -> None:
        features = chaos.Features.detect()
        scenario = chaos.chaos_scenario(2.5, 3, features, lengths=(10, 20, 30), services=(2, 1))
        loaded = chaos.build_config(scenario, chaos.spec_rule("1m"), features)
        trace = await chaos.drive(scenario, loaded, seed=11, noise=0.05)
        figures = chaos.account(scenario, loaded, trace, "spec (window 1m)", features)
        counts = figures.counts
        table = chaos.format_table(figures)
        assert counts["runs"] >= 1000, table
        assert counts["false_alerts"] == 0, table
        assert counts["outages_caught"] == counts["outages"] == 3, table
        groups = counts["groups"]
        assert counts["detected"] == counts["detected_within"] == groups, table
        assert counts["recovered"] == counts["recovered_within"] == groups, table
        assert counts["exact_groups"] == groups, table
        assert counts["children_notified"] == 0, table
        assert counts["inhibited"] >= 15, table  # 5 children x 3 regions, at least
        assert counts["region_loss_alerts"] == 0, table
        assert counts["region_unhealthy"] == 1, table
        assert counts["flapping_elsewhere"] == 0, table
        assert 1 <= counts["flapping_kind"] <= 3, table  # at most one per region
        assert counts["flapping_notifications"] <= 4 * 3, table
