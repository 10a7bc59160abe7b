"""Generic webhooks: Alertmanager v4 JSON posted to a loopback receiver, checked field by field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers.webhook import WebhookNotifier, payload
from monitor.config.channel_settings import WebhookSettings
from tests.alerting.notifiers.samples import ALERT_KEY, RUNBOOK, STATUS_PAGE, sample
from tests.alerting.notifiers.servers import HttpServer

HEADER_SECRET = "Bearer hook-secret-123"


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[WebhookNotifier]:
    hook = WebhookSettings.model_validate(
        {
            "url": f"{http_server.url}/hooks/am?token=abc",
            "headers": {"Authorization": HEADER_SECRET},
        }
    )
    notifier = WebhookNotifier({"ops": hook}, log=log)
    yield notifier
    await notifier.close()


async def post(notifier: WebhookNotifier, http_server: HttpServer, n: Notification) -> Any:
    await notifier.send(n)
    return http_server.received[-1].json()


class TestAlertmanagerPayload:
    """What an Alertmanager webhook receiver gets."""

    async def test_firing_payload_field_by_field(
        self, notifier: WebhookNotifier, http_server: HttpServer
    ) -> None:
        """A firing alert is a v4 message with one firing alert and Go's zero endsAt."""
        n = sample(target="webhook:ops")
        body = await post(notifier, http_server, n)
        labels = {
            "alertname": "smoke_test_failure",
            "severity": "critical",
            "check": "api-test",
            "region": "eu-west-1",
            "team": "payments",
        }
        annotations = {
            "summary": "api-test succeeds 50% of the time in eu-west-1",
            "description": "smoke_test.success < 0.9: value 0.5 (threshold < 0.9)",
            "runbook_url": RUNBOOK,
        }
        group_labels = {
            "alertname": "smoke_test_failure",
            "check": "api-test",
            "region": "eu-west-1",
        }
        assert body == {
            "version": "4",
            "groupKey": '{}:{alertname="smoke_test_failure", check="api-test", region="eu-west-1"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "ops",
            "groupLabels": group_labels,
            "commonLabels": labels,
            "commonAnnotations": annotations,
            "externalURL": STATUS_PAGE,
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": "2026-03-04T05:06:07Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": STATUS_PAGE,
                    "fingerprint": body["alerts"][0]["fingerprint"],
                    "evidence": [],
                }
            ],
        }
        fingerprint = body["alerts"][0]["fingerprint"]
        assert len(fingerprint) == 16
        assert int(fingerprint, 16) >= 0

    async def test_a_failing_alert_carries_its_reason_as_an_annotation(
        self, notifier: WebhookNotifier, http_server: HttpServer
    ) -> None:
        """``annotations.reason`` names the failure reason while firing, never when resolved."""
        firing = await post(notifier, http_server, sample(target="webhook:ops", reason="timeout"))
        resolved = await post(
            notifier, http_server, sample(target="webhook:ops", reason="timeout", kind="resolved")
        )
        assert firing["alerts"][0]["annotations"]["reason"] == "timeout"
        assert "reason" not in resolved["alerts"][0]["annotations"]

    async def test_request_carries_headers_and_idempotency_key(
        self, notifier: WebhookNotifier, http_server: HttpServer
    ) -> None:
        """Configured headers are sent, plus the notification key for deduplication."""
        n = sample(target="webhook:ops")
        await notifier.send(n)
        (request,) = http_server.received
        assert request.path == "/hooks/am?token=abc"
        assert request.headers["authorization"] == HEADER_SECRET
        assert request.headers["idempotency-key"] == n.key
        assert request.headers["content-type"] == "application/json"
        assert b"hook-secret" not in request.body
        assert b"token=abc" not in request.body

    async def test_resolved_ends_and_keeps_the_fingerprint(
        self, notifier: WebhookNotifier, http_server: HttpServer
    ) -> None:
        """Resolved: status resolved, endsAt set, the same fingerprint as when it fired."""
        firing = await post(notifier, http_server, sample(target="webhook:ops"))
        resolved = await post(
            notifier, http_server, sample(target="webhook:ops", kind="resolved", key="k2")
        )
        assert resolved["status"] == "resolved"
        (alert,) = resolved["alerts"]
        assert alert["status"] == "resolved"
        assert alert["endsAt"] == "2026-03-04T05:11:07Z"
        assert alert["fingerprint"] == firing["alerts"][0]["fingerprint"]
        assert resolved["groupKey"] == firing["groupKey"]

    @pytest.mark.parametrize(
        ("kind", "status", "description"),
        [
            ("reminder", "firing", "smoke_test.success < 0.9: value 0.5 (threshold < 0.9)"),
            ("no_data", "firing", "no data in the window (smoke_test.success < 0.9)"),
        ],
        ids=["reminder", "no-data"],
    )
    async def test_reminders_and_no_data_are_firing(
        self,
        notifier: WebhookNotifier,
        http_server: HttpServer,
        kind: Any,
        status: str,
        description: str,
    ) -> None:
        """A reminder or a no-data alert is a firing alert for Alertmanager receivers."""
        body = await post(
            notifier,
            http_server,
            sample(target="webhook:ops", kind=kind, value=None if kind == "no_data" else 0.5),
        )
        assert body["status"] == status
        assert body["alerts"][0]["annotations"]["description"] == description

    def test_multi_region_alert_has_no_region_label(self) -> None:
        """An alert over several regions names them in the description, not as a label."""
        body = payload(sample(regions=("eu-west-1", "us-east-1")), receiver="ops")
        assert "region" not in body["commonLabels"]
        assert body["groupKey"] == '{}:{alertname="smoke_test_failure", check="api-test"}'
        assert body["commonAnnotations"]["description"].endswith("; regions: eu-west-1, us-east-1")

    def test_rule_labels_cannot_replace_identity_labels(self) -> None:
        """A rule label named ``alertname`` does not rename the alert."""
        body = payload(sample(labels={"alertname": "other", "team": "x"}), receiver="ops")
        assert body["commonLabels"]["alertname"] == "smoke_test_failure"
        assert body["commonLabels"]["team"] == "x"

    def test_fingerprint_is_stable_per_incident(self) -> None:
        """The fingerprint depends on the incident only (firing to resolved): another incident
        or installation of the same alert has another one."""
        incident = "e" * 64
        one = payload(sample(incident=incident), receiver="a")["alerts"][0]["fingerprint"]
        two = payload(sample(kind="resolved", key="x", incident=incident), receiver="b")
        other = payload(sample(incident="f" * 64), receiver="a")["alerts"][0]["fingerprint"]
        assert one == two["alerts"][0]["fingerprint"] != other

    def test_fingerprint_of_a_row_without_incident_is_per_alert_key(self) -> None:
        """A row written before incidents had ids keeps the fingerprint of its alert key."""
        one = payload(sample(), receiver="a")["alerts"][0]["fingerprint"]
        two = payload(sample(kind="resolved", key="x"), receiver="b")["alerts"][0]["fingerprint"]
        other = payload(sample(alert_key=ALERT_KEY + "x"), receiver="a")["alerts"][0]["fingerprint"]
        assert one == two != other


class TestUnknownWebhook:
    """A target naming a webhook that is no longer configured."""

    async def test_unknown_name_is_not_retryable(
        self, notifier: WebhookNotifier, http_server: HttpServer
    ) -> None:
        """Nothing is sent, and retrying cannot help."""
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="webhook:gone"))
        assert caught.value.retryable is False
        assert caught.value.message == "webhook 'gone' is not configured"
        assert http_server.received == []
