"""The notifier registry: one :class:`Channel` per channel, the single source of its name,
config section, settings model, builder and target validation.

The rules' target syntax (:mod:`monitor.config.rules`), the load-time check that a
target can be delivered (:func:`target_problem`), the notifiers a Runtime builds
(:func:`build_notifiers`) and the outbox's channel names all derive from
:data:`CHANNELS`; secrets derive from the settings models (every ``SecretStr``, see
:func:`~monitor.alerting.notifiers.settings.secret_values_of`).  Adding a channel is
one module, its :class:`~monitor.alerting.notifiers.channels.ChannelSettings` field,
and one line here; tests/alerting/notifiers/test_registry.py checks every entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from monitor.alerting.notification import Notifier, split_target
from monitor.alerting.notifiers.apprise import AppriseNotifier, AppriseSettings
from monitor.alerting.notifiers.channels import ChannelSettings
from monitor.alerting.notifiers.discord import DiscordNotifier, DiscordSettings
from monitor.alerting.notifiers.email import EmailNotifier
from monitor.alerting.notifiers.opsgenie import OpsgenieNotifier, OpsgenieSettings
from monitor.alerting.notifiers.pagerduty import PagerDutyNotifier
from monitor.alerting.notifiers.settings import (
    EMAIL_ADDRESS,
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    WebhookSettings,
)
from monitor.alerting.notifiers.slack import SlackNotifier
from monitor.alerting.notifiers.teams import TeamsNotifier, TeamsSettings
from monitor.alerting.notifiers.telegram import TelegramNotifier, TelegramSettings, chat_problem
from monitor.alerting.notifiers.webhook import WebhookNotifier
from monitor.errors import RegistryError

AddressProblem = Callable[[str], str | None]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # as split_target reads a target's channel


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel.  ``named``: ``alerting.channels.<section>`` maps names to ``settings``
    and a target is ``<name>:NAME``; otherwise the section is one ``settings`` and a target
    is ``<name>:ADDRESS`` (``address`` validates it; ``needs`` says what the section gives).
    ``build(section, log=...)`` makes the notifier of a configured section."""

    name: str
    settings: type[BaseModel]
    build: Callable[..., Notifier]
    target: str
    section: str = ""
    named: bool = True
    label: str = ""
    needs: str = ""
    address: AddressProblem | None = None

    @property
    def key(self) -> str:
        """The field of :class:`ChannelSettings` holding this channel's section."""
        return self.section or self.name

    def configured(self, channels: ChannelSettings) -> Any:
        """This channel's section, or None when it is absent or empty."""
        return getattr(channels, self.key) or None

    def problem(self, target: str, address: str, channels: ChannelSettings) -> str | None:
        """Why ``target`` (this channel's, with ``address``) cannot be delivered."""
        if self.address is not None and (problem := self.address(address)) is not None:
            return problem
        section = self.configured(channels)
        if not self.named:
            if section is None:
                return f"{target!r} needs alerting.channels.{self.key} ({self.needs})"
            return None
        if section is not None and address in section:
            return None
        known = ", ".join(sorted(section or ())) or "none"
        return (
            f"no {self.label or self.name} named {address!r} in "
            f"alerting.channels.{self.key} (configured: {known})"
        )


def _email_address(address: str) -> str | None:
    return None if EMAIL_ADDRESS.match(address) else f"{address!r} is not an e-mail address"


def registry(*channels: Channel) -> Mapping[str, Channel]:
    """The channels by name; :class:`RegistryError` for an entry that could not work.

    Two entries of one name (the second would silently replace the first), a name a
    target cannot spell (``name:ADDRESS``), or a section that ``alerting.channels``
    does not have (building the notifiers would fail with an ``AttributeError``).
    """
    by_name: dict[str, Channel] = {}
    sections = ChannelSettings.model_fields
    for channel in channels:
        if channel.name in by_name:
            raise RegistryError(f"channel {channel.name!r} is registered twice")
        if not _NAME.match(channel.name):
            raise RegistryError(
                f"channel {channel.name!r}: a name is lower-case letters, digits and '_'"
            )
        if channel.key not in sections:
            raise RegistryError(
                f"channel {channel.name!r}: alerting.channels has no section {channel.key!r} "
                "(add the field to ChannelSettings)"
            )
        by_name[channel.name] = channel
    return MappingProxyType(by_name)


CHANNELS: Mapping[str, Channel] = registry(
    Channel("slack", SlackSettings, SlackNotifier, "'slack:#channel'", named=False,
            needs="a webhook_url or a bot_token"),
    Channel("email", EmailSettings, EmailNotifier, "an e-mail address", named=False,
            needs="an SMTP server", address=_email_address),
    Channel("webhook", WebhookSettings, WebhookNotifier, "'webhook:NAME'", section="webhooks"),
    Channel("pagerduty", PagerDutySettings, PagerDutyNotifier, "'pagerduty:NAME'",
            label="pagerduty service"),
    Channel("teams", TeamsSettings, TeamsNotifier, "'teams:NAME'", label="teams webhook"),
    Channel("opsgenie", OpsgenieSettings, OpsgenieNotifier, "'opsgenie:NAME'",
            label="opsgenie integration"),
    Channel("discord", DiscordSettings, DiscordNotifier, "'discord:NAME'",
            label="discord webhook"),
    Channel("telegram", TelegramSettings, TelegramNotifier, "'telegram:CHAT_ID'", named=False,
            needs="a bot_token", address=chat_problem),
    Channel("apprise", AppriseSettings, AppriseNotifier, "'apprise:NAME'",
            label="apprise entry"),
)  # fmt: skip


def target_forms() -> str:
    """How a rule may name targets, for messages: ``'slack:#channel', an e-mail address...``."""
    forms = [channel.target for channel in CHANNELS.values()]
    return ", ".join(forms[:-1]) + f" or {forms[-1]}"


def build_notifiers(settings: ChannelSettings | None, *, log: Any) -> dict[str, Notifier]:
    """The configured channels' notifiers, keyed by channel; each must be closed after use."""
    if settings is None:
        return {}
    built: dict[str, Notifier] = {}
    for name, channel in CHANNELS.items():
        section = channel.configured(settings)
        if section is not None:
            built[name] = channel.build(section, log=log)
    return built


def target_problem(target: str, settings: ChannelSettings | None) -> str | None:
    """Why ``target`` cannot be delivered with ``settings``; None when it can.

    ``"slack:#x"`` needs ``alerting.channels.slack``; an address (or ``email:addr``)
    needs ``email``; ``webhook:NAME`` / ``pagerduty:NAME`` (and the other named channels)
    need that name configured; an unknown channel is named with the known ones.
    """
    name, address = split_target(target)
    channel = CHANNELS.get(name)
    if channel is None:
        return f"unknown channel {name!r} in {target!r}: expected {target_forms()}"
    if not address:
        return f"target {target!r} names no {name} address"
    return channel.problem(target, address, settings or ChannelSettings())
