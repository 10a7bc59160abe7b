"""Opsgenie Alerts API: create and close on a loopback server standing in for api.opsgenie.com."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.opsgenie import OpsgenieNotifier, create
from monitor.config.channel_settings import OpsgenieSettings
from tests.alerting.notifiers.samples import (
    ALERT_KEY,
    PLAIN_LINES,
    RUNBOOK,
    STATUS_PAGE,
    failing,
    sample,
)
from tests.alerting.notifiers.servers import HttpServer, Reply

KEY = "0f1e2d3c-opsgenie-5ecret-key"
ACCEPTED = Reply.json({"result": "Request will be processed", "took": 0.01, "requestId": "r"}, 202)


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[OpsgenieNotifier]:
    settings = OpsgenieSettings.model_validate(
        {"api_key": KEY, "api_url": http_server.url, "tags": ["payments"]}
    )
    http_server.default = ACCEPTED
    notifier = OpsgenieNotifier({"ops": settings}, log=log)
    yield notifier
    await notifier.close()


class TestAlertsApi:
    """Create on firing, close on resolved, one alias per alert group."""

    async def test_firing_creates_with_the_alert_key_as_alias(
        self, notifier: OpsgenieNotifier, http_server: HttpServer
    ) -> None:
        """POST /v2/alerts with the GenieKey header, field by field."""
        await notifier.send(failing(target="opsgenie:ops"))
        (request,) = http_server.received
        assert request.path == "/v2/alerts"
        assert request.headers["authorization"] == f"GenieKey {KEY}"
        body = request.json()
        assert body["alias"] == ALERT_KEY
        assert body["message"] == (
            "FIRING: smoke_test_failure (critical): api-test succeeds 50% of the time in eu-west-1"
        )
        assert body["priority"] == "P1"
        assert body["entity"] == "api-test"
        assert body["source"] == "smokewatch"
        assert body["tags"] == [
            "smokewatch", "critical", "rule:smoke_test_failure", "check:api-test",
            "region:eu-west-1", "payments",
        ]  # fmt: skip
        assert body["details"] == {
            "team": "payments",
            "kind": "firing",
            "rule": "smoke_test_failure",
            "check": "api-test",
            "regions": "eu-west-1",
            "value": "0.5 (threshold < 0.9)",
            "condition": "smoke_test.success < 0.9",
            "since": "2026-03-04T05:06:07Z",
            "reason": "timeout",
            "runbook": RUNBOOK,
            "status_page": STATUS_PAGE,
        }
        assert body["description"].splitlines() == PLAIN_LINES

    async def test_resolved_closes_the_same_alias(
        self, notifier: OpsgenieNotifier, http_server: HttpServer
    ) -> None:
        """POST /v2/alerts/{alias}/close?identifierType=alias, the alias URL-encoded."""
        await notifier.send(sample(target="opsgenie:ops", kind="resolved"))
        (request,) = http_server.received
        assert request.path == (
            "/v2/alerts/smoke_test_failure%7Capi-test%7Ceu-west-1/close?identifierType=alias"
        )
        assert request.headers["authorization"] == f"GenieKey {KEY}"
        assert request.json() == {
            "source": "smokewatch",
            "user": "smokewatch",
            "note": "Resolved at 2026-03-04 05:11:07 UTC: api-test succeeds 50% of the time "
            "in eu-west-1 (0.5 (threshold < 0.9))",
        }

    @pytest.mark.parametrize("kind", ["reminder", "no_data", "flapping"])
    def test_other_kinds_create_on_the_same_alias(self, kind: Any) -> None:
        """Reminders, no data and flapping land on the open alert (Opsgenie deduplicates)."""
        assert create(sample(kind=kind))["alias"] == ALERT_KEY

    @pytest.mark.parametrize(
        ("severity", "priority"),
        [("critical", "P1"), ("warning", "P3"), ("info", "P5")],
        ids=["critical", "warning", "info"],
    )
    def test_priority_follows_severity(self, severity: Any, priority: str) -> None:
        """Each severity has its Opsgenie priority."""
        assert create(sample(severity=severity))["priority"] == priority

    def test_long_alert_key_is_hashed_under_the_alias_limit(self) -> None:
        """Opsgenie caps alias at 512 characters: a longer key is hashed, stably."""
        one = create(sample(alert_key="x" * 600))["alias"]
        assert len(one) == 64
        assert one == create(sample(alert_key="x" * 600, kind="reminder"))["alias"]

    @pytest.mark.parametrize(
        ("region", "base"),
        [("us", "https://api.opsgenie.com"), ("eu", "https://api.eu.opsgenie.com")],
        ids=["us", "eu"],
    )
    def test_region_picks_the_api_base(self, region: str, base: str) -> None:
        """EU accounts live on api.eu.opsgenie.com."""
        settings = OpsgenieSettings.model_validate({"api_key": "k", "region": region})
        assert settings.base_url == base


class TestFailures:
    """Opsgenie's own answers (the status table is in test_failures.py)."""

    async def test_bad_key_is_final_and_hidden(
        self, notifier: OpsgenieNotifier, http_server: HttpServer
    ) -> None:
        """401 (a wrong key) is not retried; an answer quoting the key has it masked."""
        http_server.default = Reply.json({"message": f"Key {KEY} is invalid", "took": 0}, 401)
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="opsgenie:ops"))
        assert caught.value.retryable is False
        assert caught.value.message.startswith("opsgenie 'ops': HTTP 401 ")
        assert KEY not in caught.value.message
