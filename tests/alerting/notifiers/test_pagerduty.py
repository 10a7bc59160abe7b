"""PagerDuty Events API v2, posted to a loopback server standing in for events.pagerduty.com."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.pagerduty import PagerDutyNotifier, event
from monitor.config.channel_settings import PagerDutySettings
from tests.alerting.notifiers.samples import ALERT_KEY, RUNBOOK, STATUS_PAGE, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefabcdef"
ACCEPTED = Reply.json({"status": "success", "message": "Event processed", "dedup_key": "x"}, 202)


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[PagerDutyNotifier]:
    service = PagerDutySettings.model_validate(
        {"routing_key": ROUTING_KEY, "url": f"{http_server.url}/v2/enqueue"}
    )
    http_server.default = ACCEPTED
    notifier = PagerDutyNotifier({"primary": service}, log=log)
    yield notifier
    await notifier.close()


class TestEvents:
    """Trigger and resolve bodies."""

    async def test_firing_triggers_with_the_alert_key_as_dedup_key(
        self, notifier: PagerDutyNotifier, http_server: HttpServer
    ) -> None:
        """A firing alert is a trigger event, field by field."""
        await notifier.send(sample(target="pagerduty:primary"))
        (request,) = http_server.received
        assert request.path == "/v2/enqueue"
        assert request.json() == {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": ALERT_KEY,
            "client": "smokewatch",
            "client_url": STATUS_PAGE,
            "payload": {
                "summary": "FIRING: smoke_test_failure (critical): "
                "api-test succeeds 50% of the time in eu-west-1",
                "source": "api-test",
                "severity": "critical",
                "timestamp": "2026-03-04T05:11:07Z",
                "component": "api-test",
                "group": "eu-west-1",
                "class": "smoke_test_failure",
                "custom_details": {
                    "kind": "firing",
                    "rule": "smoke_test_failure",
                    "condition": "smoke_test.success < 0.9",
                    "value": "0.5",
                    "threshold": "< 0.9",
                    "regions": ["eu-west-1"],
                    "since": "2026-03-04T05:06:07Z",
                    "labels": {"team": "payments"},
                    "annotations": {"summary": "api-test succeeds 50% of the time in eu-west-1"},
                },
            },
            "links": [
                {"href": RUNBOOK, "text": "Runbook"},
                {"href": STATUS_PAGE, "text": "Status page"},
            ],
        }

    async def test_resolved_resolves_the_same_dedup_key(
        self, notifier: PagerDutyNotifier, http_server: HttpServer
    ) -> None:
        """Resolved is a bare resolve event on the alert key."""
        await notifier.send(sample(target="pagerduty:primary", kind="resolved"))
        assert http_server.received[0].json() == {
            "routing_key": ROUTING_KEY,
            "event_action": "resolve",
            "dedup_key": ALERT_KEY,
        }

    @pytest.mark.parametrize("kind", ["reminder", "no_data"], ids=["reminder", "no-data"])
    def test_reminders_and_no_data_trigger_the_same_alert(self, kind: Any) -> None:
        """Reminders and no-data alerts re-trigger on the alert key (no second incident)."""
        body = event(sample(kind=kind), routing_key="k")
        assert body["event_action"] == "trigger"
        assert body["dedup_key"] == ALERT_KEY
        assert body["payload"]["custom_details"]["kind"] == kind

    @pytest.mark.parametrize(
        ("severity", "expected"),
        [("critical", "critical"), ("warning", "warning"), ("info", "info")],
        ids=["critical", "warning", "info"],
    )
    def test_severity_maps_onto_pagerduty_severities(self, severity: Any, expected: str) -> None:
        """Every rule severity is one PagerDuty accepts."""
        assert event(sample(severity=severity), routing_key="k")["payload"]["severity"] == expected

    @pytest.mark.parametrize("kind", ["firing", "reminder", "resolved"])
    def test_incident_is_the_dedup_key_from_trigger_to_resolve(self, kind: Any) -> None:
        """A notification naming its incident (every one written since issue 12) uses it as
        the dedup key: one PagerDuty alert per incident and installation, never shared."""
        body = event(sample(kind=kind, incident="e" * 64), routing_key="k")
        assert body["dedup_key"] == "e" * 64

    def test_long_alert_key_is_hashed_under_the_limit(self) -> None:
        """PagerDuty caps dedup_key at 255 characters: a longer key is hashed, stably."""
        long_key = "x" * 300
        one = event(sample(alert_key=long_key), routing_key="k")["dedup_key"]
        two = event(sample(alert_key=long_key, kind="resolved"), routing_key="k")["dedup_key"]
        assert len(one) == 64
        assert one == two


class TestFailures:
    """PagerDuty's own answers."""

    async def test_invalid_event_is_not_retryable_and_hides_the_routing_key(
        self, notifier: PagerDutyNotifier, http_server: HttpServer
    ) -> None:
        """400 is final; an answer echoing the request has the routing key masked."""
        http_server.default = Reply(400)
        http_server.echo_body = True
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="pagerduty:primary"))
        assert caught.value.retryable is False
        assert caught.value.message.startswith("pagerduty 'primary': HTTP 400 ")
        assert ROUTING_KEY not in caught.value.message
        assert "***" in caught.value.message

    async def test_unknown_service_is_not_retryable(
        self, notifier: PagerDutyNotifier, http_server: HttpServer
    ) -> None:
        """A target naming no configured service sends nothing."""
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="pagerduty:secondary"))
        assert caught.value.retryable is False
        assert http_server.received == []
