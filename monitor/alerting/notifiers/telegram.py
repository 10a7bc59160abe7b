"""Telegram: the Bot API's ``sendMessage``, ``telegram:CHAT_ID``.

The target is a chat id (``-1001234567890`` for a group or channel, a user's id) or a
public channel's ``@username``; the bot must be a member.  The text is HTML (Telegram's
``parse_mode``): the title, the summary, the facts (severity, check, regions, value vs
threshold, condition, since), the failure reason, each region's evidence with its
artifact links, and the runbook / status page links.  Lines of evidence that would pass
Telegram's 4096 characters are left out whole (never cut inside a tag).  A resolved
alert is a follow-up message.

Failures map as in :mod:`._http`: 429, 408 and 5xx are retried (Telegram gives the wait in
the body, ``parameters.retry_after``, when no ``Retry-After`` header says it); other 4xx
(``chat not found``: 400, the bot was removed: 403, a revoked token: 401/404) are not.
The bot token is in the request path: it is a secret, masked in every error.
"""

from __future__ import annotations

import html
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import build_client, post_json, raise_for_status, secrets_of
from monitor.config.channel_settings import TelegramSettings
from monitor.redact import Redactor

MAX_TEXT = 4096
EMOJI = {"firing": "🚨", "reminder": "🔁", "resolved": "✅", "no_data": "❔", "flapping": "⚠️"}


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _a(name: str, url: str) -> str:
    return f'<a href="{html.escape(url)}">{_e(name)}</a>'


def text(n: Notification) -> str:
    """The HTML message, at most 4096 characters."""
    head = [f"{EMOJI[n.kind]} <b>{_e(_text.title(n))}</b>", _e(n.summary)]
    if description := n.annotations.get("description"):
        head.append(f"<i>{_e(description)}</i>")
    head += [f"<b>{_e(k)}:</b> {_e(v)}" for k, v in _text.facts_and_reason(n)]
    tail = [" · ".join(_a(name, url) for name, url in links)] if (links := _text.links(n)) else []
    evidence: list[str] = []
    for entry in n.evidence:
        evidence.append(f"\n<b>{_e(_text.evidence_heading(entry))}</b>")
        evidence += [f"{_e(k)}: {_e(v)}" for k, v in _text.evidence_details(entry)]
        if artifacts := _text.evidence_links(entry):
            evidence.append(" · ".join(_a(name, url) for name, url in artifacts))
    budget = MAX_TEXT - len("\n".join(head + tail)) - 2
    kept: list[str] = []
    for line in evidence:
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    lines = head + kept + ([""] if tail else []) + tail
    return "\n".join(lines)[:MAX_TEXT]


def _body_retry_after(response: Any) -> float | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    wait = answer.get("parameters", {}).get("retry_after") if isinstance(answer, dict) else None
    return float(wait) if isinstance(wait, int | float) and wait >= 0 else None


class TelegramNotifier:
    """Sends to the chat each ``telegram:CHAT_ID`` target names; owns one HTTP client."""

    channel = "telegram"

    def __init__(self, settings: TelegramSettings, *, log: Any) -> None:
        token = settings.bot_token.get_secret_value()
        self._url = f"{settings.api_url}/bot{token}/sendMessage"
        self._timeout_s = settings.timeout.total_seconds()
        self._redactor = Redactor(secrets_of(token, self._url))
        self._client = build_client()
        self._log = log

    async def send(self, notification: Notification) -> None:
        chat = notification.address
        what = f"telegram sendMessage to {chat}"
        payload = {
            "chat_id": int(chat) if chat.lstrip("-").isdigit() else chat,
            "text": text(notification),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        response = await post_json(
            self._client,
            self._url,
            payload,
            what=what,
            timeout_s=self._timeout_s,
            redactor=self._redactor,
        )
        try:
            raise_for_status(response, what=what, redactor=self._redactor)
        except DeliveryError as exc:
            if exc.retry_after_s is None and response.status_code == 429:
                exc.retry_after_s = _body_retry_after(response)
            raise
        _text.log_delivered(self._log, self.channel, notification)

    async def close(self) -> None:
        await self._client.aclose()
