"""The notifier registry: one builder per channel, and load-time target validation.

Adding a channel is one module and one line in :data:`NOTIFIERS` (plus its settings
field).  A builder returns ``None`` when its channel is not configured, so
:func:`build_notifiers` yields only the channels that can deliver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from monitor.alerting.notification import Notifier, split_target
from monitor.alerting.notifiers.email import EmailNotifier
from monitor.alerting.notifiers.pagerduty import PagerDutyNotifier
from monitor.alerting.notifiers.settings import EMAIL_ADDRESS, ChannelSettings
from monitor.alerting.notifiers.slack import SlackNotifier
from monitor.alerting.notifiers.webhook import WebhookNotifier

Builder = Callable[[ChannelSettings, Any], Notifier | None]


def _slack(s: ChannelSettings, log: Any) -> Notifier | None:
    return SlackNotifier(s.slack, log=log) if s.slack else None


def _email(s: ChannelSettings, log: Any) -> Notifier | None:
    return EmailNotifier(s.email, log=log) if s.email else None


def _webhook(s: ChannelSettings, log: Any) -> Notifier | None:
    return WebhookNotifier(s.webhooks, log=log) if s.webhooks else None


def _pagerduty(s: ChannelSettings, log: Any) -> Notifier | None:
    return PagerDutyNotifier(s.pagerduty, log=log) if s.pagerduty else None


NOTIFIERS: Mapping[str, Builder] = MappingProxyType(
    {"slack": _slack, "email": _email, "webhook": _webhook, "pagerduty": _pagerduty}
)


def build_notifiers(settings: ChannelSettings | None, *, log: Any) -> dict[str, Notifier]:
    """The configured channels' notifiers, keyed by channel; each must be closed after use."""
    if settings is None:
        return {}
    built = {channel: build(settings, log) for channel, build in NOTIFIERS.items()}
    return {channel: notifier for channel, notifier in built.items() if notifier is not None}


def _named(kind: str, section: str, name: str, configured: Mapping[str, object]) -> str | None:
    if name in configured:
        return None
    known = ", ".join(sorted(configured)) or "none"
    return f"no {kind} named {name!r} in alerting.channels.{section} (configured: {known})"


def _slack_problem(target: str, address: str, s: ChannelSettings) -> str | None:
    if s.slack is None:
        return f"{target!r} needs alerting.channels.slack (a webhook_url or a bot_token)"
    return None


def _email_problem(target: str, address: str, s: ChannelSettings) -> str | None:
    if not EMAIL_ADDRESS.match(address):
        return f"{address!r} is not an e-mail address"
    if s.email is None:
        return f"{target!r} needs alerting.channels.email (an SMTP server)"
    return None


def _webhook_problem(target: str, address: str, s: ChannelSettings) -> str | None:
    return _named("webhook", "webhooks", address, s.webhooks)


def _pagerduty_problem(target: str, address: str, s: ChannelSettings) -> str | None:
    return _named("pagerduty service", "pagerduty", address, s.pagerduty)


PROBLEMS: Mapping[str, Callable[[str, str, ChannelSettings], str | None]] = MappingProxyType(
    {
        "slack": _slack_problem,
        "email": _email_problem,
        "webhook": _webhook_problem,
        "pagerduty": _pagerduty_problem,
    }
)


def target_problem(target: str, settings: ChannelSettings | None) -> str | None:
    """Why ``target`` cannot be delivered with ``settings``; None when it can.

    ``"slack:#x"`` needs ``alerting.channels.slack``; an address (or ``email:addr``)
    needs ``email``; ``webhook:NAME`` / ``pagerduty:NAME`` need that name configured.
    """
    channel, address = split_target(target)
    if not address:
        return f"target {target!r} names no {channel} address"
    return PROBLEMS[channel](target, address, settings or ChannelSettings())
