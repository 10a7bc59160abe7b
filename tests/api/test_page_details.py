"""Specifications of the pages' small words: the uptime figure's period and failure reasons
in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.api.page import uptime_label
from monitor.api.reason_text import NO_REASON, REASON_TEXT, reason_text
from monitor.store import StatsBucket
from probes.reasons import FailureReason

TODAY = datetime(2026, 3, 1, tzinfo=UTC)


def day(ago: int, passed: int = 1, failed: int = 0) -> StatsBucket:
    start = TODAY - timedelta(days=ago)
    return StatsBucket("health", start, passed + failed, passed, 0, failed, 0, 20.0, 40.0)


class TestUptimeLabel:
    @pytest.mark.parametrize(
        ("buckets", "label"),
        [
            ([], "no data yet"),
            ([day(0)], "100 % uptime over 1 day of data"),
            ([day(2), day(0, passed=1, failed=1)], "66.67 % uptime over 3 days of data"),
            ([day(89), day(0)], "100 % uptime over 90 days"),
        ],
        ids=["none", "minutes-of-data", "three-days", "full-period"],
    )
    def test_says_the_period_it_covers(self, buckets: list[StatsBucket], label: str) -> None:
        """The figure names the days since the first data when there are fewer than 90."""
        assert uptime_label(buckets, TODAY) == label


class TestReasonText:
    @pytest.mark.parametrize("reason", list(FailureReason), ids=str)
    def test_every_reason_has_words(self, reason: FailureReason) -> None:
        """Each documented reason reads as its code followed by what it means."""
        assert reason_text(reason) == f"{reason.value} ({REASON_TEXT[reason]})"

    def test_a_failure_without_a_reason_says_where_to_look(self) -> None:
        """A failure stored without a reason points the reader at its message."""
        assert reason_text(None) == NO_REASON
        assert NO_REASON.startswith("no reason stored")
