"""Specifications of the status rules: latest result per region -> check, page, Statuspage."""

from __future__ import annotations

import pytest

from monitor.api.verdict import (
    INDICATOR_TEXT,
    CheckState,
    Component,
    Verdict,
    indicator,
    judge,
    overall,
)
from probes.base import Status
from tests.api.conftest import result

P, D, F, E = Status.PASS, Status.DEGRADED, Status.FAIL, Status.ERROR

# (newest status in each region) -> (smokewatch status, Statuspage component status)
RULES = [
    pytest.param([], "unknown", "operational", id="no-results"),
    pytest.param([E, E], "unknown", "operational", id="only-errors"),
    pytest.param([P], "healthy", "operational", id="one-region-pass"),
    pytest.param([P, P, P], "healthy", "operational", id="all-pass"),
    pytest.param([P, E], "healthy", "operational", id="pass-and-error"),
    pytest.param([P, D, P], "degraded", "degraded_performance", id="one-degraded"),
    pytest.param([D, D], "degraded", "degraded_performance", id="all-degraded"),
    pytest.param([P, F, P], "degraded", "partial_outage", id="fail-in-some"),
    pytest.param([D, F], "degraded", "partial_outage", id="fail-and-degraded"),
    pytest.param([F, F, F], "down", "major_outage", id="fail-everywhere"),
    pytest.param([F, E], "down", "major_outage", id="fail-where-reporting"),
    pytest.param([F], "down", "major_outage", id="one-region-fail"),
]


class TestJudge:
    @pytest.mark.parametrize(("statuses", "state", "component"), RULES)
    def test_the_rules_table(
        self, statuses: list[Status], state: CheckState, component: Component
    ) -> None:
        """Each combination of regional results gives the documented check and component status."""
        latest = [result(region=f"r{n}", status=s) for n, s in enumerate(statuses)]
        assert judge(latest) == Verdict(state, component)


class TestOverall:
    @pytest.mark.parametrize(
        ("states", "expected"),
        [
            pytest.param([], "healthy", id="no-checks"),
            pytest.param(["healthy", "healthy"], "healthy", id="all-healthy"),
            pytest.param(["healthy", "unknown"], "healthy", id="unknown-does-not-degrade"),
            pytest.param(["healthy", "degraded", "unknown"], "degraded", id="one-degraded"),
            pytest.param(["degraded", "down", "healthy"], "down", id="any-down"),
        ],
    )
    def test_the_worst_check_wins(self, states: list[CheckState], expected: str) -> None:
        """The page is down if any check is down, degraded if any is degraded, else healthy."""
        assert overall(states) == expected


class TestIndicator:
    @pytest.mark.parametrize(
        ("components", "expected", "text"),
        [
            pytest.param([], "none", "All Systems Operational", id="empty"),
            pytest.param(["operational"], "none", "All Systems Operational", id="operational"),
            pytest.param(
                ["operational", "degraded_performance"],
                "minor",
                "Partially Degraded Service",
                id="degraded",
            ),
            pytest.param(
                ["partial_outage", "degraded_performance"],
                "major",
                "Partial System Outage",
                id="partial",
            ),
            pytest.param(
                ["major_outage", "partial_outage"],
                "critical",
                "Major System Outage",
                id="major",
            ),
        ],
    )
    def test_the_worst_component_sets_the_indicator(
        self, components: list[Component], expected: str, text: str
    ) -> None:
        """Statuspage's indicator and wording follow the worst component."""
        level = indicator(components)
        assert (level, INDICATOR_TEXT[level]) == (expected, text)
