"""Specifications of the heartbeat verdict (probes.heartbeat.judge) and spec.

The store side (pings recorded by the API, read by any replica) is specified in
tests/store/test_heartbeats.py and tests/api/test_heartbeat.py; here the rules alone,
as a table over the pings a check may have at the moment it is judged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from probes.base import ProbeContext, Status
from probes.heartbeat import PROBE, HeartbeatSpec, Pings, judge
from probes.reasons import FailureReason

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
TOKEN = "hb-0123456789abcdef"


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def spec(**fields: Any) -> HeartbeatSpec:
    return HeartbeatSpec.model_validate({"token": TOKEN, "period": "1h", "grace": "5m"} | fields)


class TestJudge:
    @pytest.mark.parametrize(
        ("pings", "fields", "status", "reason", "message"),
        [
            (
                Pings(first_seen=ago(days=1), last_success=ago(minutes=30)),
                {},
                Status.PASS,
                None,
                "last success ping 30m ago",
            ),
            (
                Pings(first_seen=ago(days=1), last_success=ago(minutes=64)),
                {},
                Status.PASS,
                None,
                "last success ping 64m ago",
            ),
            (
                Pings(first_seen=ago(days=1), last_success=ago(minutes=66)),
                {},
                Status.FAIL,
                FailureReason.LATE,
                "last success ping at 2026-12-04 10:54:00 UTC, 66m ago (1h + 5m grace)",
            ),
            (
                Pings(first_seen=ago(minutes=10)),
                {},
                Status.PASS,
                None,
                "no ping yet; the first is due by 2026-12-04 12:55:00 UTC",
            ),
            (
                Pings(first_seen=ago(hours=2)),
                {},
                Status.FAIL,
                FailureReason.LATE,
                "no success ping since watching began at 2026-12-04 10:00:00 UTC (1h + 5m grace)",
            ),
            (
                Pings(
                    first_seen=ago(days=1),
                    last_success=ago(minutes=50),
                    last_fail=ago(minutes=1),
                    fail_message="backup: disk full",
                ),
                {},
                Status.FAIL,
                FailureReason.JOB_FAILED,
                "the job reported failure at 2026-12-04 11:59:00 UTC: backup: disk full",
            ),
            (
                Pings(
                    first_seen=ago(days=1), last_success=ago(minutes=1), last_fail=ago(minutes=9)
                ),
                {},
                Status.PASS,
                None,
                "last success ping 1m ago",
            ),
            (
                Pings(
                    first_seen=ago(days=1), last_success=ago(minutes=50), last_start=ago(minutes=20)
                ),
                {"max_run": "15m"},
                Status.FAIL,
                FailureReason.LATE,
                "the run started at 2026-12-04 11:40:00 UTC has not ended after 15m (max_run)",
            ),
            (
                Pings(
                    first_seen=ago(days=1), last_success=ago(minutes=50), last_start=ago(minutes=10)
                ),
                {"max_run": "15m"},
                Status.PASS,
                None,
                "last success ping 50m ago",
            ),
        ],
        ids=[
            "on-time",
            "within-grace",
            "late",
            "never-not-yet-due",
            "never-overdue",
            "job-failed",
            "success-after-fail",
            "run-too-long",
            "run-in-progress",
        ],
    )
    def test_the_verdict_follows_the_rules_in_order(
        self,
        pings: Pings,
        fields: dict[str, Any],
        status: Status,
        reason: FailureReason | None,
        message: str,
    ) -> None:
        """Late beyond period + grace, a fail signal, or an overlong run fail; else pass."""
        result = judge(spec(**fields), pings, NOW)
        assert (result.status, result.reason, result.message) == (status, reason, message)

    def test_the_evidence_names_every_signal_and_the_due_time(self) -> None:
        """details carry first_seen, each last signal and due_by, as ISO times."""
        pings = Pings(
            first_seen=ago(days=1), last_success=ago(minutes=10), last_start=ago(minutes=12)
        )
        result = judge(spec(), pings, NOW)
        assert result.details == {
            "first_seen": ago(days=1).isoformat(),
            "last_start": ago(minutes=12).isoformat(),
            "last_success": ago(minutes=10).isoformat(),
            "last_fail": None,
            "due_by": (ago(minutes=10) + timedelta(hours=1, minutes=5)).isoformat(),
        }
        assert result.timings["job"] == 120_000.0


class TestProbe:
    async def test_without_a_store_the_check_cannot_run(self) -> None:
        """No ledger handed in (no result store): error, reason config, nothing invented."""
        async with httpx.AsyncClient() as client:
            result = await PROBE.run(spec(), ProbeContext(client=client, check_name="job"))
        assert (result.status, result.reason) == (Status.ERROR, FailureReason.CONFIG)


class TestSpec:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"token": "short"}, "token", "16-200 characters"),
            ({"token": "a/b" * 8}, "token", "it goes in a URL"),
            ({"period": "0s"}, "period", "at least 1s"),
            ({"grace": "soon"}, "grace", "invalid duration"),
        ],
        ids=["short-token", "slash-in-token", "zero-period", "bad-grace"],
    )
    def test_bad_fields_are_refused_naming_the_field(
        self, fields: dict[str, Any], field: str, message: str
    ) -> None:
        """Config errors name the field and say what is wrong."""
        with pytest.raises(ValidationError) as caught:
            spec(**fields)
        (error,) = caught.value.errors()
        assert ".".join(str(p) for p in error["loc"]) == field
        assert message in error["msg"]

    def test_the_token_is_a_secret(self) -> None:
        """The token never shows in the spec's repr, and is offered for redaction."""
        made = spec()
        assert TOKEN not in repr(made)
        assert made.secret_values() == [TOKEN]
