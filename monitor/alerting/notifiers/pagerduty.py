"""PagerDuty Events API v2: ``trigger`` on firing/reminder/no-data, ``resolve`` on resolved.

``dedup_key`` is the notification's ``incident`` (unique to this installation, alert group
and incident; the same from firing to resolved): a redelivered trigger or a reminder
lands on the open PagerDuty alert instead of opening a second one, the resolve closes
it, and another installation or a later incident never lands on it.  (A row written
before incidents had ids falls back to its ``alert_key``, hashed when longer than
PagerDuty's 255 characters.)  Answers: 202 accepted; 400 invalid event (not retryable); 429 and
5xx retryable, as PagerDuty's retry table says.  The routing key never leaves the
request body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import build_client, post_json, raise_for_status
from monitor.config.channel_settings import PagerDutySettings
from monitor.redact import Redactor

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def dedup_key(n: Notification) -> str:
    if n.incident:
        return n.incident
    key = n.alert_key
    return key if len(key) <= MAX_DEDUP_KEY else _text.short_hash(key, 64)


def event(n: Notification, *, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for one notification."""
    if n.kind == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key(n)}
    summary = f"{_text.title(n)}: {n.summary}"
    details: dict[str, Any] = {
        "kind": n.kind,
        "rule": n.rule,
        "condition": n.condition,
        "value": _text.value_text(n),
        "threshold": _text.threshold_text(n),
        "regions": list(n.regions),
        "since": _text.iso(n.since),
        **({"labels": n.labels} if n.labels else {}),
        **({"annotations": n.annotations} if n.annotations else {}),
    }
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(n),
        "client": "smokewatch",
        "payload": {
            "summary": summary[:MAX_SUMMARY],
            "source": n.check or "smokewatch",
            "severity": PD_SEVERITY[n.severity],
            "timestamp": _text.iso(n.at),
            "component": n.check or n.rule,
            "group": _text.regions_text(n),
            "class": n.rule,
            "custom_details": details,
        },
        "links": [{"href": url, "text": text} for text, url in _text.links(n)],
    }
    if n.status_page_url:
        body["client_url"] = n.status_page_url
    return body


@dataclass(frozen=True, slots=True)
class _Service:
    url: str
    routing_key: str
    timeout_s: float


class PagerDutyNotifier:
    """Every configured PagerDuty service, by name (``pagerduty:NAME``); owns one HTTP client."""

    channel = "pagerduty"

    def __init__(self, settings: dict[str, PagerDutySettings], *, log: Any) -> None:
        self._services = {
            name: _Service(
                url=service.url,
                routing_key=service.routing_key.get_secret_value(),
                timeout_s=service.timeout.total_seconds(),
            )
            for name, service in settings.items()
        }
        self._redactor = Redactor(s.routing_key for s in self._services.values())
        self._client = build_client()
        self._log = log

    async def send(self, notification: Notification) -> None:
        name = notification.address
        service = self._services.get(name)
        what = f"pagerduty {name!r}"
        if service is None:
            raise DeliveryError(f"{what} is not configured", retryable=False)
        response = await post_json(
            self._client,
            service.url,
            event(notification, routing_key=service.routing_key),
            what=what,
            timeout_s=service.timeout_s,
            redactor=self._redactor,
        )
        raise_for_status(response, what=what, redactor=self._redactor)
        _text.log_delivered(self._log, self.channel, notification)

    async def close(self) -> None:
        await self._client.aclose()
