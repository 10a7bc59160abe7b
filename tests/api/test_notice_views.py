"""Specifications of how notices read at a moment: a maintenance's state from its window, and
the rules file's recurring windows shown ahead of time and while they last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.api.notices import maintenance_status, window_notice
from monitor.config.root import config_model
from monitor.config.rules import MaintenanceWindow
from monitor.store.notices import NoticeRecord

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
CONFIG = config_model().model_validate(
    {
        "checks": [
            {"name": "pay-api", "kind": "http", "url": "https://pay.example.com/health"},
            {"name": "home", "kind": "http", "url": "https://www.example.com/"},
        ]
    }
)


def maintenance(status: str, start: timedelta, end: timedelta) -> NoticeRecord:
    return NoticeRecord(
        id=1,
        kind="maintenance",
        name="m",
        status=status,
        impact="maintenance",
        components=(),
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
        started_at=NOW + start,
        scheduled_for=NOW + start,
        scheduled_until=NOW + end,
        monitoring_at=None,
        resolved_at=None,
        updates=(),
    )


HOUR = timedelta(hours=1)


class TestMaintenanceStatus:
    @pytest.mark.parametrize(
        ("posted", "start", "end", "expected"),
        [
            pytest.param("scheduled", HOUR, 2 * HOUR, "scheduled", id="ahead"),
            pytest.param("scheduled", -HOUR, HOUR, "in_progress", id="during"),
            pytest.param("scheduled", -2 * HOUR, -HOUR, "completed", id="after"),
            pytest.param(
                "in_progress", -2 * HOUR, -HOUR, "completed", id="posted-in-progress-after"
            ),
            pytest.param("verifying", -2 * HOUR, -HOUR, "verifying", id="verifying-stands"),
            pytest.param("completed", -HOUR, HOUR, "completed", id="completed-early"),
        ],
    )
    def test_the_window_decides_unless_a_person_said_more(
        self, posted: str, start: timedelta, end: timedelta, expected: str
    ) -> None:
        """Scheduled before, in progress during, completed after; verifying and completed stand."""
        assert maintenance_status(maintenance(posted, start, end), NOW) == expected


class TestRulesFileWindows:
    @pytest.mark.parametrize(
        ("cron", "duration", "status", "starts"),
        [
            pytest.param("0 11 * * *", "2h", "in_progress", NOW - HOUR, id="in-progress"),
            pytest.param("0 13 * * *", "1h", "scheduled", NOW + HOUR, id="later-today"),
            pytest.param(
                "0 2 * * 6", "1h", "scheduled", datetime(2026, 3, 7, 2, tzinfo=UTC), id="saturday"
            ),
            pytest.param("0 2 1 6 *", "1h", None, None, id="beyond-7-days"),
        ],
    )
    def test_shown_in_progress_or_ahead_within_a_week(
        self, cron: str, duration: str, status: str | None, starts: datetime | None
    ) -> None:
        """A window in progress, or the next one within 7 days, shows; a later one does not."""
        window = MaintenanceWindow.model_validate(
            {"name": "w", "cron": cron, "duration": duration, "checks": ["pay-*"]}
        )
        notice = window_notice(window, CONFIG, NOW)
        if status is None:
            assert notice is None
            return
        assert notice is not None
        assert (notice.status, notice.scheduled_for, notice.id) == (status, starts, "window-w")
        assert notice.checks == frozenset({"pay-api"})
