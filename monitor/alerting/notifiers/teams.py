"""Microsoft Teams: an Adaptive Card posted to a Workflows ("When a Teams webhook request is
received") webhook, ``teams:NAME``.

The card says what every channel says (:mod:`monitor.alerting.notifiers._text`): a title
coloured by severity (``attention`` critical, ``warning`` warning, ``accent`` info,
``good`` once resolved), the summary, the facts (severity, check, regions, value vs
threshold, condition, since), the failure reason, each region's evidence with its
artifact links, and the runbook / status page as buttons.  A resolved alert is a
follow-up card (Teams cannot edit a posted card through a webhook).

Workflows answers 202 Accepted.  Failures map as in :mod:`._http`: 429 (``Retry-After``
honoured), 408 and 5xx are retried; other 4xx (a deleted flow: 404) are not.  The
webhook URL carries its signature (``sig=``): it is a secret.
"""

from __future__ import annotations

from typing import Any

from monitor.alerting.notification import Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._hooks import HookNotifier

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # what Teams renders everywhere (desktop, web, mobile)
MAX_EVIDENCE = 10
# Adaptive Card colours (theme names, not RGB).
COLOUR = {"critical": "attention", "warning": "warning", "info": "accent"}


def _colour(n: Notification) -> str:
    if n.kind == "resolved":
        return "good"
    return "default" if n.kind == "no_data" else COLOUR[n.severity]


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _fact_set(rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in rows]}


def _link_line(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return _text_block(" · ".join(f"[{name}]({url})" for name, url in pairs), spacing="None")


def card(n: Notification) -> dict[str, Any]:
    """The Adaptive Card for one notification."""
    body: list[dict[str, Any]] = [
        _text_block(_text.title(n), size="Large", weight="Bolder", color=_colour(n)),
        _text_block(n.summary),
    ]
    if description := n.annotations.get("description"):
        body.append(_text_block(description, isSubtle=True))
    body.append(_fact_set(_text.facts_and_reason(n)))
    for entry in n.evidence[:MAX_EVIDENCE]:
        body.append(_text_block(_text.evidence_heading(entry), weight="Bolder", separator=True))
        body.append(_fact_set(_text.evidence_details(entry)))
        if artifacts := _text.evidence_links(entry):
            body.append(_link_line(artifacts))
    body.append(
        _text_block(f"smokewatch · alert {_text.short_hash(n.alert_key, 12)}", isSubtle=True)
    )
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    actions = [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in _text.links(n)]
    if actions:
        content["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": content,
            }
        ],
    }


class TeamsNotifier(HookNotifier):
    """Every configured Teams webhook, by name (``teams:NAME``)."""

    channel = "teams"

    def render(self, notification: Notification) -> dict[str, Any]:
        return card(notification)
