"""Slack: Block Kit messages through ``chat.postMessage`` (bot token) or an incoming webhook.

With a bot token, ``slack:#alerts`` posts to ``#alerts``.  With only a webhook, every
message lands in the webhook's own channel and names the intended one.  Block Kit has
no colour of its own, so the blocks ride in one attachment whose bar carries the
severity colour (green when resolved); the top-level ``text`` is the notification
fallback.  User text is escaped for mrkdwn (``&``, ``<``, ``>``): a condition such as
``smoke_test.success < 0.9`` would otherwise be read as a link.

Failures: HTTP 429/5xx, timeouts and connection errors are retryable (429 carries
``Retry-After``); other 4xx (a revoked webhook: 403/404/410) are not.  The Web API answers
200 with ``{"ok": false, "error": ...}``: ``ratelimited``/``internal_error``-like codes are
retryable, the rest (``channel_not_found``, ``invalid_auth``, ``not_in_channel`` ...) are not.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import build_client, post_json, raise_for_status, secrets_of
from monitor.config.channel_settings import SlackSettings
from monitor.redact import Redactor

EMOJI = {
    "firing": ":rotating_light:",
    "reminder": ":repeat:",
    "resolved": ":white_check_mark:",
    "no_data": ":grey_question:",
    "flapping": ":warning:",
}
RETRYABLE_API_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_ERROR_CODE = re.compile(r"^[a-z0-9_]{1,64}$")
_TIME_FACTS = {"Since": "since", "Resolved": "at"}


# Slack allows 50 blocks a message; a region's evidence is one.
MAX_EVIDENCE_BLOCKS = 20


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(n: Notification, label: str, fallback: str) -> str:
    # Slack renders this in each reader's own time zone; the fallback is UTC.
    moment = _text.utc(getattr(n, _TIME_FACTS[label]))
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _field(n: Notification, label: str, value: str) -> dict[str, str]:
    shown = _date(n, label, value) if label in _TIME_FACTS else escape(value)
    return {"type": "mrkdwn", "text": f"*{label}*\n{shown}"[:2000]}


def message(n: Notification, *, intended_channel: str | None = None) -> dict[str, Any]:
    """The message body (without ``channel``): fallback text and one coloured attachment."""
    headline = f"{EMOJI[n.kind]} {_text.title(n)}"
    summary = n.summary
    if description := n.annotations.get("description"):
        summary = f"{summary}\n{description}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(summary)[:3000]}},
        {"type": "section", "fields": [_field(n, k, v) for k, v in _text.facts(n)][:10]},
    ]
    for entry in n.evidence[:MAX_EVIDENCE_BLOCKS]:
        rows = [f"*{escape(_text.evidence_heading(entry))}*"]
        rows += [
            f"{escape(label)}: {escape(text)}" for label, text in _text.evidence_details(entry)
        ]
        artifacts = [f"<{escape(url)}|{escape(name)}>" for name, url in _text.evidence_links(entry)]
        if artifacts:
            rows.append(" · ".join(artifacts))
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(rows)[:3000]}}
        )
    links = [f"<{escape(url)}|{escape(text)}>" for text, url in _text.links(n)]
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    context = f"smokewatch · alert {_text.short_hash(n.alert_key, 12)}"
    if intended_channel:
        context += f" · for {escape(intended_channel)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    fallback = f"{headline}: {n.summary}"
    return {
        "text": escape(fallback)[:3000],
        "attachments": [{"color": _text.colour(n), "fallback": fallback[:3000], "blocks": blocks}],
    }


class SlackNotifier:
    """Posts to Slack; owns its HTTP client."""

    channel = "slack"

    def __init__(self, settings: SlackSettings, *, log: Any) -> None:
        self._webhook_url = (
            settings.webhook_url.get_secret_value() if settings.webhook_url else None
        )
        self._token = settings.bot_token.get_secret_value() if settings.bot_token else None
        self._api_url = settings.api_url
        self._timeout_s = settings.timeout.total_seconds()
        self._redactor = Redactor(secrets_of(self._webhook_url, self._token))
        self._client = build_client()
        self._log = log

    async def send(self, notification: Notification) -> None:
        if self._token is not None:
            await self._post_message(notification)
        else:
            await self._post_webhook(notification)
        _text.log_delivered(self._log, self.channel, notification)

    async def _post_webhook(self, n: Notification) -> None:
        assert self._webhook_url is not None  # noqa: S101 -- settings require one of the two
        what = "slack webhook"
        payload = message(n, intended_channel=n.address)
        response = await post_json(
            self._client,
            self._webhook_url,
            payload,
            what=what,
            timeout_s=self._timeout_s,
            redactor=self._redactor,
        )
        raise_for_status(response, what=what, redactor=self._redactor)

    async def _post_message(self, n: Notification) -> None:
        what = f"slack chat.postMessage to {n.address}"
        payload = {"channel": n.address, **message(n)}
        response = await post_json(
            self._client,
            f"{self._api_url}/chat.postMessage",
            payload,
            what=what,
            timeout_s=self._timeout_s,
            redactor=self._redactor,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        raise_for_status(response, what=what, redactor=self._redactor)
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryError(f"{what}: the answer is not JSON", retryable=True) from exc
        if isinstance(answer, dict) and answer.get("ok") is True:
            return
        error = answer.get("error") if isinstance(answer, dict) else None
        code = error if isinstance(error, str) and _ERROR_CODE.match(error) else "unknown_error"
        raise DeliveryError(f"{what}: {code}", retryable=code in RETRYABLE_API_ERRORS)

    async def close(self) -> None:
        await self._client.aclose()
