"""Opsgenie: the Alerts API, ``opsgenie:NAME``.  Firing creates, resolved closes.

Every alert of one alert group has ``alias`` = the notification's ``alert_key`` (rule,
check, region; hashed to 64 hex characters when longer than Opsgenie's 512), so Opsgenie
deduplicates: a reminder or a redelivered create lands on the open alert (its count
goes up) instead of opening a second one, and the resolve closes it
(``POST /v2/alerts/{alias}/close?identifierType=alias``).  Reminders, no-data and
flapping notifications are creates on the same alias.

The create carries ``message`` (the title and summary, 130 characters), ``description``
(facts, failure reason, each region's evidence with artifact links, the runbook and
status page), ``priority`` (critical P1, warning P3, info P5), ``entity`` (the check),
``source`` ``smokewatch``, ``tags`` and ``details`` (rule, check, regions, value vs
threshold, reason, links, the rule's labels).  The API key travels in the
``Authorization: GenieKey`` header only.

Opsgenie answers 202.  Failures map as in :mod:`._http`: 429 (``Retry-After`` honoured),
408 and 5xx are retried; other 4xx (401 a bad key, 422 an invalid alert) are not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from monitor.alerting.notification import Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import build_client, configured, post_checked
from monitor.config.channel_settings import OpsgenieSettings
from monitor.redact import Redactor

PRIORITY = {"critical": "P1", "warning": "P3", "info": "P5"}
MAX_ALIAS = 512
MAX_MESSAGE = 130
MAX_DESCRIPTION = 15000
MAX_TAGS = 20
MAX_TAG = 50
MAX_DETAIL = 8000


def alias(n: Notification) -> str:
    key = n.alert_key
    return key if len(key) <= MAX_ALIAS else _text.short_hash(key, 64)


def _tags(n: Notification, extra: list[str]) -> list[str]:
    tags = ["smokewatch", n.severity, f"rule:{n.rule}"]
    if n.check:
        tags.append(f"check:{n.check}")
    tags += [f"region:{region}" for region in n.regions]
    tags += extra
    return list(dict.fromkeys(tag[:MAX_TAG] for tag in tags))[:MAX_TAGS]


def create(n: Notification, *, tags: list[str] | None = None) -> dict[str, Any]:
    """The ``POST /v2/alerts`` body for a firing, reminder, no-data or flapping notification."""
    details = {
        **n.labels,
        "kind": n.kind,
        "rule": n.rule,
        "check": n.check or "all checks",
        "regions": _text.regions_text(n),
        "value": _text.value_vs_threshold(n),
        "condition": n.condition,
        "since": _text.iso(n.since),
        **({"reason": n.reason} if n.reason else {}),
        **{text.lower().replace(" ", "_"): url for text, url in _text.links(n)},
    }
    return {
        "message": f"{_text.title(n)}: {n.summary}"[:MAX_MESSAGE],
        "alias": alias(n),
        "description": "\n".join(_text.plain_lines(n))[:MAX_DESCRIPTION],
        "priority": PRIORITY[n.severity],
        "entity": n.check or n.rule,
        "source": "smokewatch",
        "tags": _tags(n, tags or []),
        "details": {k: v[:MAX_DETAIL] for k, v in details.items()},
    }


def close(n: Notification) -> dict[str, Any]:
    """The ``POST /v2/alerts/{alias}/close`` body for a resolved notification."""
    note = f"Resolved at {_text.human_time(n.at)}: {n.summary} ({_text.value_vs_threshold(n)})"
    return {"source": "smokewatch", "user": "smokewatch", "note": note}


class OpsgenieNotifier:
    """Every configured Opsgenie integration, by name (``opsgenie:NAME``); one HTTP client."""

    channel = "opsgenie"

    def __init__(self, settings: dict[str, OpsgenieSettings], *, log: Any) -> None:
        self._settings = settings
        self._redactor = Redactor(s.api_key.get_secret_value() for s in settings.values())
        self._client = build_client()
        self._log = log

    async def send(self, notification: Notification) -> None:
        n = notification
        what = f"opsgenie {n.address!r}"
        settings = configured(self._settings, n.address, what=what)
        if n.kind == "resolved":
            path = f"/v2/alerts/{quote(alias(n), safe='')}/close?identifierType=alias"
            payload = close(n)
        else:
            path, payload = "/v2/alerts", create(n, tags=settings.tags)
        await post_checked(
            self._client,
            settings.base_url + path,
            payload,
            what=what,
            timeout_s=settings.timeout.total_seconds(),
            redactor=self._redactor,
            headers={"Authorization": f"GenieKey {settings.api_key.get_secret_value()}"},
        )
        _text.log_delivered(self._log, self.channel, n)

    async def close(self) -> None:
        await self._client.aclose()
