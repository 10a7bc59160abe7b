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
