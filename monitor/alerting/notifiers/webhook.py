"""Generic webhooks: Alertmanager's webhook JSON (version 4), so existing receivers work.

Each notification is one alert in a group of one::

    {"version": "4", "groupKey": "{}:{alertname=\"rule\", check=\"api\"}", "truncatedAlerts": 0,
     "status": "firing", "receiver": "<webhook name>", "groupLabels": {...},
     "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": "<status page>",
     "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt",
                 "generatorURL", "fingerprint", "evidence"}]}

Labels: ``alertname`` (the rule), ``severity``, ``check`` and ``region`` (when one), and the
rule's labels.  Annotations: the rule's, plus ``summary``, ``description`` (value vs
threshold), ``runbook_url``, and ``reason`` while failing.  ``fingerprint`` is
stable for the incident, firing to resolved, and unique to it and the installation (from
its ``incident``; from the ``alert_key`` for a row written before incidents had ids);
``endsAt`` is Go's zero time while firing, as Alertmanager sends it.  ``evidence`` is the ledger
(:mod:`monitor.alerting.evidence`), an addition receivers may ignore.  Reminders and
no-data alerts are ``firing``.  The request also carries
``Idempotency-Key: <notification key>`` so a receiver can drop a redelivered duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import build_client, post_json, raise_for_status, secrets_of
from monitor.config.channel_settings import WebhookSettings
from monitor.redact import Redactor

ZERO_TIME = "0001-01-01T00:00:00Z"


def labels_of(n: Notification) -> dict[str, str]:
    labels = {"alertname": n.rule, "severity": n.severity}
    if n.check:
        labels["check"] = n.check
    if len(n.regions) == 1:
        labels["region"] = n.regions[0]
    # The rule's own labels may add to these, never replace the identity ones.
    return {**n.labels, **labels}


def annotations_of(n: Notification) -> dict[str, str]:
    annotations = dict(n.annotations)
    annotations["summary"] = n.summary
    if n.kind == "no_data":
        description = f"no data in the window ({n.condition})"
    else:
        description = f"{n.condition}: value {_text.value_vs_threshold(n)}"
    if len(n.regions) > 1:
        description += f"; regions: {_text.regions_text(n)}"
    annotations.setdefault("description", description)
    if n.reason and n.kind != "resolved":
        annotations["reason"] = n.reason
    if n.runbook_url:
        annotations["runbook_url"] = n.runbook_url
    return annotations


def group_key(group_labels: dict[str, str]) -> str:
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return "{}:{" + pairs + "}"


def payload(n: Notification, *, receiver: str) -> dict[str, Any]:
    """The Alertmanager v4 webhook body for one notification."""
    status = "resolved" if n.kind == "resolved" else "firing"
    labels = labels_of(n)
    group_labels: dict[str, str] = {
        k: labels[k] for k in ("alertname", "check", "region") if k in labels
    }
    annotations = annotations_of(n)
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _text.iso(n.since),
        "endsAt": _text.iso(n.at) if status == "resolved" else ZERO_TIME,
        "generatorURL": n.status_page_url or "",
        "fingerprint": _text.short_hash(n.incident or n.alert_key),
        "evidence": list(n.evidence),
    }
    return {
        "version": "4",
        "groupKey": group_key(group_labels),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": n.status_page_url or "",
        "alerts": [alert],
    }


@dataclass(frozen=True, slots=True)
class _Hook:
    url: str
    headers: dict[str, str]
    timeout_s: float


class WebhookNotifier:
    """Every configured webhook, by name (``webhook:NAME``); owns one HTTP client."""

    channel = "webhook"

    def __init__(self, settings: dict[str, WebhookSettings], *, log: Any) -> None:
        self._hooks = {
            name: _Hook(
                url=hook.url.get_secret_value(),
                headers={k: v.get_secret_value() for k, v in hook.headers.items()},
                timeout_s=hook.timeout.total_seconds(),
            )
            for name, hook in settings.items()
        }
        secrets = [s for h in self._hooks.values() for s in (h.url, *h.headers.values())]
        self._redactor = Redactor(secrets_of(*secrets))
        self._client = build_client()
        self._log = log

    async def send(self, notification: Notification) -> None:
        name = notification.address
        hook = self._hooks.get(name)
        what = f"webhook {name!r}"
        if hook is None:
            raise DeliveryError(f"{what} is not configured", retryable=False)
        response = await post_json(
            self._client,
            hook.url,
            payload(notification, receiver=name),
            what=what,
            timeout_s=hook.timeout_s,
            redactor=self._redactor,
            headers={**hook.headers, "Idempotency-Key": notification.key},
        )
        raise_for_status(response, what=what, redactor=self._redactor)
        _text.log_delivered(self._log, self.channel, notification)

    async def close(self) -> None:
        await self._client.aclose()
