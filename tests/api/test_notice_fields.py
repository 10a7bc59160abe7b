"""A notice's fields are listed once (``NoticeRecord``); the table, ``Notice`` and the API's
``NoticeOut`` are made from it by name, and held to it here."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from monitor.api.notice_models import NoticeOut
from monitor.api.notices import Notice
from monitor.api.routes.notices import notice_out
from monitor.config.root import config_model
from monitor.store.notices import NoticeRecord, NoticeUpdate
from monitor.store.schema import notice_updates, notices

RECORD = {f.name for f in fields(NoticeRecord)}
CONFIG = config_model().model_validate(
    {"checks": [{"name": "api", "kind": "http", "url": "https://api.example.com/health"}]}
)
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def record(kind: str) -> NoticeRecord:
    """A notice with every field set, the way the store reads one back."""
    return NoticeRecord(
        id=4,
        kind="incident" if kind == "incident" else "maintenance",
        name="Database slow",
        status="monitoring" if kind == "incident" else "verifying",
        impact="major",
        components=("api", "group:Web"),
        created_at=AT,
        updated_at=AT + timedelta(minutes=5),
        started_at=AT - timedelta(minutes=1),
        scheduled_for=AT if kind == "maintenance" else None,
        scheduled_until=AT + timedelta(hours=1) if kind == "maintenance" else None,
        monitoring_at=AT + timedelta(minutes=2),
        resolved_at=None,
        updates=(NoticeUpdate(id=9, notice_id=4, status="monitoring", body="b", created_at=AT),),
    )


class TestTheFieldLists:
    def test_the_notices_table_has_a_column_per_field_but_updates(self) -> None:
        """``notices`` holds every field but ``updates``, which ``notice_updates`` holds."""
        assert {c.name for c in notices.columns} == RECORD - {"updates"}
        assert {c.name for c in notice_updates.columns} == {f.name for f in fields(NoticeUpdate)}

    def test_a_shown_notice_has_the_records_fields_and_two_more(self) -> None:
        """``Notice`` is the record plus the checks it names and a rules-file window's cron."""
        assert {f.name for f in fields(Notice)} == RECORD | {"checks", "recurring"}

    def test_the_api_model_has_the_notices_fields_and_its_v2_id(self) -> None:
        """``NoticeOut`` is the record plus its ``/api/v2`` id (``statuspage_id``)."""
        assert set(NoticeOut.model_fields) == RECORD | {"statuspage_id"}


class TestTheValuesCarried:
    @pytest.mark.parametrize("kind", ["incident", "maintenance"], ids=["incident", "maintenance"])
    def test_every_field_reaches_the_api(self, kind: str) -> None:
        """The API's notice carries every stored value (a status a person posted stands)."""
        stored = record(kind)
        shown = notice_out(stored, CONFIG, None)
        assert shown is not None
        assert shown.model_dump() == {
            "id": 4,
            "statuspage_id": "notice-4",
            "kind": stored.kind,
            "name": "Database slow",
            "status": stored.status,
            "impact": "major",
            "components": ["api", "group:Web"],
            "created_at": AT,
            "updated_at": AT + timedelta(minutes=5),
            "started_at": AT - timedelta(minutes=1),
            "scheduled_for": stored.scheduled_for,
            "scheduled_until": stored.scheduled_until,
            "monitoring_at": AT + timedelta(minutes=2),
            "resolved_at": None,
            "updates": [{"status": "monitoring", "body": "b", "created_at": AT}],
        }
