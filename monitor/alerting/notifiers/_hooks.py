"""A notifier over named webhook URLs (``channel:NAME``) that posts one rendered JSON body.

Teams and Discord are this with their own ``channel`` and :meth:`HookNotifier.render`;
the URL of each hook is a secret, masked in every error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from pydantic import SecretStr

from monitor.alerting.notification import Notification
from monitor.alerting.notifiers import _text
from monitor.alerting.notifiers._http import (
    Endpoint,
    build_client,
    configured,
    post_checked,
    secrets_of,
)
from monitor.config.channel_settings import secret_values_of
from monitor.redact import Redactor


class HookSettings(Protocol):
    @property
    def url(self) -> SecretStr: ...

    @property
    def timeout(self) -> timedelta: ...


class HookNotifier:
    """Every configured hook of one channel, by name; owns one HTTP client."""

    channel: str

    def __init__(self, settings: Mapping[str, HookSettings], *, log: Any) -> None:
        self._hooks = {
            name: Endpoint(hook.url.get_secret_value(), hook.timeout.total_seconds())
            for name, hook in settings.items()
        }
        self._redactor = Redactor(secrets_of(*secret_values_of(settings)))
        self._client = build_client()
        self._log = log

    def render(self, notification: Notification) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, notification: Notification) -> None:
        what = f"{self.channel} {notification.address!r}"
        hook = configured(self._hooks, notification.address, what=what)
        await post_checked(
            self._client,
            hook.url,
            self.render(notification),
            what=what,
            timeout_s=hook.timeout_s,
            redactor=self._redactor,
        )
        _text.log_delivered(self._log, self.channel, notification)

    async def close(self) -> None:
        await self._client.aclose()
