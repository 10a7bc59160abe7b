"""Specification of the evidence ledger's pieces: usual timings, one region's entry, the subject.

The ledger end to end (a real failing check, real SMTP, Slack and webhook receivers)
is in ``test_e2e.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.alerting.evidence import median_timings, reasons_text, region_entry
from monitor.alerting.notifiers._text import evidence_details, subject
from monitor.store.records import ResultRecord
from probes.base import Status
from probes.reasons import FailureReason
from tests.alerting.notifiers.samples import sample

AT = datetime(2026, 12, 4, 12, 0, 30, tzinfo=UTC)


def run(status: Status, total: float, **fields: Any) -> ResultRecord:
    base = ResultRecord(
        run_id="r",
        check="api",
        kind="http",
        region="eu",
        started_at=AT,
        duration_ms=total,
        status=status,
        attempts=1,
        message="ok",
        timings={"connect": total / 10, "total": total},
        assertions=[],
        details={},
        artifacts=[],
    )
    return replace(base, **fields)


def test_usual_timings_are_the_median_of_passing_runs_per_phase() -> None:
    runs = [run(Status.PASS, t) for t in (40.0, 10.0, 30.0, 20.0)] + [
        run(Status.FAIL, 5000.0),
        run(Status.DEGRADED, 50.0),
    ]
    assert median_timings(runs) == {"connect": 3.0, "total": 30.0}  # nearest rank of 5
    assert median_timings([run(Status.FAIL, 1.0)]) == {}


def test_a_regions_entry_names_what_failed_and_links_the_evidence() -> None:
    failing = run(
        Status.FAIL,
        5001.0,
        id=42,
        attempts=2,
        message="timed out after 5 s",
        assertions=[
            {"name": "status", "passed": True, "expected": "2xx", "actual": "200"},
            {"name": "json $.ok", "passed": False, "expected": "true", "actual": "false"},
        ],
        reason=FailureReason.TIMEOUT,
        details={"attempts": [{"attempt": 1}, {"attempt": 2}]},
        artifacts=["response.txt"],
    )
    entry = region_entry(failing, {"total": 42.0}, public_url="https://status.example.com/")
    assert entry == {
        "region": "eu",
        "status": "fail",
        "reason": "timeout",
        "at": AT.isoformat(),
        "message": "timed out after 5 s",
        "attempt_count": 2,
        "attempts": [{"attempt": 1}, {"attempt": 2}],
        "failed": {"name": "json $.ok", "expected": "true", "actual": "false"},
        "timings": [
            {"phase": "connect", "ms": 500.1, "usual_ms": None},
            {"phase": "total", "ms": 5001.0, "usual_ms": 42.0},
        ],
        "links": [
            {
                "name": "response.txt",
                "url": "https://status.example.com/api/v1/results/42/artifacts/response.txt",
            }
        ],
    }


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (
            "smoke_test_failure: api in eu: success ratio 0.00",
            "[FIRING] [critical] smoke_test_failure: api in eu: success ratio 0.00",
        ),
        ("api is down in eu", "[FIRING] [critical] smoke_test_failure: api is down in eu"),
    ],
    ids=["default-summary-names-the-rule", "own-summary"],
)
def test_the_subject_names_the_rule_once(summary: str, expected: str) -> None:
    assert subject(sample(summary=summary, rule="smoke_test_failure")) == expected


def test_the_reason_variable_names_each_regions_newest_failure() -> None:
    """Distinct reasons of the regions whose newest run failed; a recovered region adds none."""
    earlier = AT.replace(minute=0)
    runs = [
        run(Status.FAIL, 1.0, region="eu", reason=FailureReason.DNS, started_at=earlier),
        run(Status.FAIL, 1.0, region="eu", reason=FailureReason.TIMEOUT),
        run(Status.FAIL, 1.0, region="us", reason=FailureReason.TIMEOUT),
        run(Status.FAIL, 1.0, region="ap", reason=FailureReason.CONNECT, started_at=earlier),
        run(Status.PASS, 1.0, region="ap"),
    ]
    assert reasons_text(runs, ["eu", "us", "ap"]) == "timeout"
    assert reasons_text(runs[:1] + runs[3:4], ["eu", "ap"]) == "connect, dns"
    assert reasons_text(runs, ["sa"]) == ""


def test_the_attempts_row_says_when_smokewatch_itself_was_held_up() -> None:
    """An attempt measured while smokewatch's loop was held up says so, and that it was
    measured again (README, "Retries, run-time cap and rechecks")."""
    entry = {
        "message": "response time: expected <= 100 ms, got 312 ms",
        "attempt_count": 2,
        "attempts": [
            {
                "attempt": 1,
                "status": "fail",
                "probe_ms": 312.4,
                "monitor_lag_ms": 280.0,
                "then_remeasured": True,
            },
            {"attempt": 2, "status": "fail", "probe_ms": 305.0},
        ],
    }
    rows = dict(evidence_details(entry))
    assert rows["Attempts (2)"] == (
        "#1 fail in 312 ms (smokewatch held up 280 ms), then measured again; #2 fail in 305 ms"
    )
