"""Discord: an embed posted to a channel webhook, ``discord:NAME``.

One embed says what every channel says (:mod:`monitor.alerting.notifiers._text`): the
title coloured by severity (green once resolved), the summary, the facts as fields
(severity, check, regions, value vs threshold, condition, since), the failure reason,
and the runbook / status page links; each region's evidence is one more embed (Discord
takes 10 a message).  A resolved alert is a follow-up message.  Mentions are disabled
(``allowed_mentions``): a check name such as ``@everyone`` pings nobody.

Discord answers 204 No Content (200 with ``?wait=true``).  Failures map as in
:mod:`._http`: 429 (``Retry-After`` honoured), 408 and 5xx are retried; other 4xx (a
deleted webhook: 404, a malformed embed: 400) are not.  The webhook URL carries its
token: it is a secret.
"""

from __future__ import annotations

from typing import Any

from monitor.alerting.notification import Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._hooks import HookNotifier
from monitor.config.channel_settings import DiscordSettings

# Discord's limits (developer docs, "Embed Limits").
MAX_EMBEDS = 10
MAX_FIELDS = 25
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_CONTENT = 2000


def _field(name: str, value: str, *, inline: bool = True) -> dict[str, Any]:
    return {
        "name": name[:MAX_FIELD_NAME],
        "value": value[:MAX_FIELD_VALUE] or "-",
        "inline": inline,
    }


def _links(pairs: list[tuple[str, str]]) -> str:
    return " · ".join(f"[{name}]({url})" for name, url in pairs)


def embeds(n: Notification) -> list[dict[str, Any]]:
    """The alert's embed, then one per region of evidence (at most 10 in all)."""
    colour = int(_text.colour(n).lstrip("#"), 16)
    description = n.summary
    if extra := n.annotations.get("description"):
        description += f"\n{extra}"
    fields = [_field(k, v, inline=k != "Reason") for k, v in _text.facts_and_reason(n)]
    if links := _text.links(n):
        fields.append(_field("Links", _links(links), inline=False))
    main: dict[str, Any] = {
        "title": _text.title(n)[:MAX_TITLE],
        "description": description[:MAX_DESCRIPTION],
        "color": colour,
        "fields": fields[:MAX_FIELDS],
        "timestamp": _text.iso(n.at),
        "footer": {"text": f"smokewatch · alert {_text.short_hash(n.alert_key, 12)}"},
    }
    if n.runbook_url:
        main["url"] = n.runbook_url
    found = [main]
    for entry in n.evidence[: MAX_EMBEDS - 1]:
        rows = [_field(k, v, inline=False) for k, v in _text.evidence_details(entry)]
        if artifacts := _text.evidence_links(entry):
            rows.append(_field("Artifacts", _links(artifacts), inline=False))
        found.append(
            {
                "title": _text.evidence_heading(entry)[:MAX_TITLE],
                "color": colour,
                "fields": rows[:MAX_FIELDS],
            }
        )
    return found


def message(n: Notification, *, username: str = "smokewatch") -> dict[str, Any]:
    """The webhook body: a one-line ``content`` (the push notification) and the embeds."""
    return {
        "username": username,
        "content": f"{_text.title(n)}: {n.summary}"[:MAX_CONTENT],
        "embeds": embeds(n),
        "allowed_mentions": {"parse": []},
    }


class DiscordNotifier(HookNotifier):
    """Every configured Discord webhook, by name (``discord:NAME``)."""

    channel = "discord"

    def __init__(self, settings: dict[str, DiscordSettings], *, log: Any) -> None:
        super().__init__(settings, log=log)
        self._usernames = {name: hook.username for name, hook in settings.items()}

    def render(self, notification: Notification) -> dict[str, Any]:
        username = self._usernames.get(notification.address, "smokewatch")
        return message(notification, username=username)
