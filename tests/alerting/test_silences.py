"""Silence matchers and maintenance windows (recurring, cron in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerting.silences import Suppressions, alert_labels, matches
from monitor.config.rules import AlertRule
from tests.alerting.conftest import read_rules

RULE = AlertRule.model_validate(
    {
        "name": "down",
        "condition": "smoke_test.success < 0.5",
        "severity": "critical",
        "labels": {"team": "payments"},
    }
)


class TestMatchers:
    @pytest.mark.parametrize(
        ("matchers", "region", "expected"),
        [
            ({"check": "api"}, "eu", True),
            ({"check": "ap*", "region": "eu"}, "eu", True),
            ({"check": "api", "region": "us"}, "eu", False),
            ({"rule": "down", "severity": "critical"}, "eu", True),
            ({"alertname": "down"}, "eu", True),
            ({"team": "payments"}, "eu", True),
            ({"team": "search"}, "eu", False),
            ({"owner": "*"}, "eu", True),
            ({"owner": "x"}, "eu", False),
            ({"region": "eu"}, None, False),
            ({"region": "*"}, None, True),
        ],
        ids=[
            "check",
            "glob-and-region",
            "other-region",
            "rule-and-severity",
            "alertname",
            "rule-label",
            "other-label-value",
            "missing-label-matches-star",
            "missing-label-no-match",
            "aggregated-is-not-one-region",
            "aggregated-region-star",
        ],
    )
    def test_matches(self, matchers: dict[str, str], region: str | None, expected: bool) -> None:
        """All matchers must match the alert's labels (globs, case-sensitive)."""
        assert matches(matchers, alert_labels(RULE, "api", region)) is expected


MAINTENANCE = """
maintenance:
  - name: nightly
    cron: "0 2 * * *"
    duration: 1h
    checks: ["ap*"]
  - name: weekly
    cron: "30 4 * * 0"
    duration: 30m
    rules: [down]
"""


class TestMaintenance:
    @pytest.mark.parametrize(
        ("when", "check", "expected"),
        [
            (datetime(2025, 3, 3, 1, 59, tzinfo=UTC), "api", None),
            (datetime(2025, 3, 3, 2, 0, tzinfo=UTC), "api", "maintenance nightly"),
            (datetime(2025, 3, 3, 2, 59, tzinfo=UTC), "api", "maintenance nightly"),
            (datetime(2025, 3, 3, 3, 0, tzinfo=UTC), "api", None),
            (datetime(2025, 3, 3, 2, 30, tzinfo=UTC), "status", None),
            (datetime(2025, 3, 2, 4, 45, tzinfo=UTC), "status", "maintenance weekly"),
            (datetime(2025, 3, 3, 4, 45, tzinfo=UTC), "status", None),
        ],
        ids=[
            "before-the-window",
            "at-its-start",
            "inside",
            "at-its-end",
            "other-check",
            "weekly-on-sunday",
            "weekly-not-on-monday",
        ],
    )
    def test_window(self, when: datetime, check: str, expected: str | None) -> None:
        """A window silences its checks and rules from each cron start for its duration."""
        found = Suppressions(read_rules(MAINTENANCE))
        assert found.reason(RULE, alert_labels(RULE, check, "eu"), now=when) == expected
