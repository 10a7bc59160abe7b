"""apprise: the long tail of services (~100: Matrix, Mattermost, ntfy, Pushover, Gotify,
Rocket.Chat, Zulip, SMS gateways...) through the apprise library, ``apprise:NAME``.

Each named entry is a list of apprise URLs (``ntfy://topic``, ``mmosts://host/token``,
``json://host/path``...); a notification goes to every URL of the entry.  The title is
:func:`._text.title`; the body is plain text: the summary, the facts (severity, check,
regions, value vs threshold, condition, since), the failure reason, each region's
evidence with its artifact links, and the runbook / status page.  apprise's own
notification type follows the alert: ``failure`` critical, ``warning`` warning, ``info``
info, ``success`` resolved (services that colour or prioritise by type do so).

apprise reports each service as succeeded, failed or timed out, not the HTTP answer, so
the failure mapping reads the status code its plugins log (``error=NNN``): when every
failed service answered a 4xx other than 408/429 the error is final, otherwise (5xx,
429, no answer, a timeout) it is retried, without a ``Retry-After`` (apprise does not pass
it on).  The URLs carry tokens: they are secrets, never in a message or an error.
Needs the ``apprise`` extra (``pip install 'smokewatch[apprise]'``).
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import configured, is_retryable_status
from monitor.config.channel_settings import AppriseSettings, apprise_library

if TYPE_CHECKING:
    import apprise as apprise_lib

NOTIFY_TYPE = {"critical": "failure", "warning": "warning", "info": "info"}
_LOGGED_STATUS = re.compile(r"\berror=(\d{3})\b")


def body(n: Notification) -> str:
    """The plain-text body."""
    return "\n".join(_text.plain_lines(n))


def notify_type(n: Notification) -> str:
    return "success" if n.kind == "resolved" else NOTIFY_TYPE[n.severity]


def _final(result: apprise_lib.AppriseResult) -> bool:
    """Whether every failed service logged a 4xx answer retrying cannot fix."""
    statuses = []
    for service in result:
        if service:
            continue
        logged = [_LOGGED_STATUS.search(entry.message) for entry in service.logs()]
        codes = [int(m.group(1)) for m in logged if m]
        if not codes or is_retryable_status(codes[-1]):
            return False
        statuses.append(codes[-1])
    return bool(statuses)


class AppriseNotifier:
    """Every configured apprise entry, by name (``apprise:NAME``)."""

    channel = "apprise"

    def __init__(self, settings: dict[str, AppriseSettings], *, log: Any) -> None:
        library = apprise_library()
        self._library = library
        self._entries: dict[str, tuple[Any, float]] = {}
        for name, entry in settings.items():
            targets = library.Apprise()
            for url in entry.urls:
                targets.add(url.get_secret_value())
            self._entries[name] = (targets, entry.timeout.total_seconds())
        self._log = log

    async def send(self, notification: Notification) -> None:
        n = notification
        what = f"apprise {n.address!r}"
        targets, timeout_s = configured(self._entries, n.address, what=what)
        try:
            async with asyncio.timeout(timeout_s):
                result = await targets.async_notify(
                    body=body(n),
                    title=_text.title(n),
                    notify_type=notify_type(n),
                    body_format=self._library.NotifyFormat.TEXT,
                    timeout=timeout_s,
                )
        except TimeoutError as exc:
            raise DeliveryError(f"{what}: no answer within {timeout_s:g}s", retryable=True) from exc
        if not result:
            failed = [service for service in result if not service]
            names = ", ".join(sorted({str(service.name) for service in failed})) or "none reached"
            status = self._library.AppriseResultStatus(result.status).name.lower()
            raise DeliveryError(
                f"{what}: {status}, {len(failed)} of {len(result)} services failed ({names})",
                retryable=not _final(result),
            )
        _text.log_delivered(self._log, self.channel, n)

    async def close(self) -> None:
        return None
