"""A sample notification, as the engine writes it, for the notifier tests."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from monitor.alerting.notification import Notification

SINCE = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
AT = datetime(2026, 3, 4, 5, 11, 7, tzinfo=UTC)
RUNBOOK = "https://runbooks.example.com/smoke-test-failure"
STATUS_PAGE = "https://status.example.com/"
ALERT_KEY = "smoke_test_failure|api-test|eu-west-1"

BASE = Notification(
    key=hashlib.sha256(b"smoke_test_failure|api-test|eu-west-1|1|firing|slack:#alerts").hexdigest(),
    alert_key=ALERT_KEY,
    kind="firing",
    rule="smoke_test_failure",
    severity="critical",
    target="slack:#alerts",
    condition="smoke_test.success < 0.9",
    value=0.5,
    threshold=0.9,
    check="api-test",
    regions=("eu-west-1",),
    since=SINCE,
    at=AT,
    summary="api-test succeeds 50% of the time in eu-west-1",
    labels={"team": "payments"},
    annotations={"summary": "api-test succeeds 50% of the time in eu-west-1"},
    runbook_url=RUNBOOK,
    status_page_url=STATUS_PAGE,
)


def sample(**changes: Any) -> Notification:
    """The base notification with ``changes`` applied."""
    return replace(BASE, **changes)


ARTIFACT = "https://status.example.com/api/v1/results/42/artifacts/response.txt"
# One region's evidence as monitor.alerting.evidence.region_entry writes it.
EVIDENCE: dict[str, Any] = {
    "region": "eu-west-1",
    "status": "fail",
    "reason": "timeout",
    "at": "2026-03-04T05:10:30+00:00",
    "message": "timed out after 5 s",
    "attempt_count": 2,
    "attempts": [
        {"attempt": 1, "status": "fail", "probe_ms": 5000.0, "then_waited_s": 1.0},
        {"attempt": 2, "status": "fail", "probe_ms": 5001.0},
    ],
    "failed": {"name": "json $.ok", "expected": "true", "actual": "false"},
    "timings": [{"phase": "total", "ms": 5001.0, "usual_ms": 42.0}],
    "links": [{"name": "response.txt", "url": ARTIFACT}],
}


def failing(**changes: Any) -> Notification:
    """The base notification with a failure reason and one region's evidence."""
    return sample(reason="timeout", evidence=(EVIDENCE,), **changes)


# _text.plain_lines(failing()): the body of the plain-text channels (Opsgenie, apprise).
PLAIN_LINES = [
    "api-test succeeds 50% of the time in eu-west-1",
    "",
    "Severity: critical",
    "Check: api-test",
    "Regions: eu-west-1",
    "Value: 0.5 (threshold < 0.9)",
    "Condition: smoke_test.success < 0.9",
    "Since: 2026-03-04 05:06:07 UTC",
    "Reason: timeout",
    "",
    "eu-west-1: fail (timeout) at 2026-03-04 05:10:30 UTC",
    "  Result: timed out after 5 s",
    "  Attempts (2): #1 fail in 5000 ms, then waited 1 s; #2 fail in 5001 ms",
    "  Failed: json $.ok: expected true, got false",
    "  Timings: total 5001 ms (usual 42 ms)",
    f"  response.txt: {ARTIFACT}",
    "",
    f"Runbook: {RUNBOOK}",
    f"Status page: {STATUS_PAGE}",
]
