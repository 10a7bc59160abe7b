"""The notifier registry: one :class:`Channel` per channel, pairing the config's
:class:`~monitor.config.targets.ChannelKind` (name, section, settings model, target
syntax) with the notifier that sends to it.

The notifiers a Runtime builds (:func:`build_notifiers`) and the outbox's channel
names derive from :data:`CHANNELS`; what a rule may name and whether a target can be
delivered are the config's (:mod:`monitor.config.targets`), so validating a config
loads no notifier.  Adding a channel is its settings model and
:class:`~monitor.config.channels.ChannelSettings` field, one line in
:data:`~monitor.config.targets.CHANNEL_KINDS`, one module here and one line below;
tests/alerting/notifiers/test_registry.py checks every entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from monitor.alerting.notification import Notifier
from monitor.alerting.notifiers.apprise import AppriseNotifier
from monitor.alerting.notifiers.discord import DiscordNotifier
from monitor.alerting.notifiers.email import EmailNotifier
from monitor.alerting.notifiers.opsgenie import OpsgenieNotifier
from monitor.alerting.notifiers.pagerduty import PagerDutyNotifier
from monitor.alerting.notifiers.slack import SlackNotifier
from monitor.alerting.notifiers.teams import TeamsNotifier
from monitor.alerting.notifiers.telegram import TelegramNotifier
from monitor.alerting.notifiers.webhook import WebhookNotifier
from monitor.config.channels import ChannelSettings
from monitor.config.targets import CHANNEL_KINDS, ChannelKind, channel_kinds
from monitor.errors import RegistryError


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel: its ``kind`` (as the config knows it) and ``build(section, log=...)``,
    which makes the notifier of a configured section."""

    kind: ChannelKind
    build: Callable[..., Notifier]

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def settings(self) -> type[BaseModel]:
        return self.kind.settings

    @property
    def named(self) -> bool:
        return self.kind.named

    @property
    def key(self) -> str:
        """The field of :class:`ChannelSettings` holding this channel's section."""
        return self.kind.key

    def configured(self, channels: ChannelSettings) -> Any:
        """This channel's section, or None when it is absent or empty."""
        return self.kind.configured(channels)


def registry(*channels: Channel) -> Mapping[str, Channel]:
    """The channels by name; :class:`RegistryError` for an entry that could not work
    (the checks of :func:`~monitor.config.targets.channel_kinds`)."""
    channel_kinds(*(channel.kind for channel in channels))
    return MappingProxyType({channel.name: channel for channel in channels})


def _notifiers(builders: Mapping[str, Callable[..., Notifier]]) -> Mapping[str, Channel]:
    """Every channel kind with its notifier; :class:`RegistryError` when one has none."""
    if missing := sorted(set(CHANNEL_KINDS) ^ set(builders)):
        raise RegistryError(f"channels without both a kind and a notifier: {', '.join(missing)}")
    return registry(*(Channel(kind, builders[name]) for name, kind in CHANNEL_KINDS.items()))


CHANNELS: Mapping[str, Channel] = _notifiers(
    {
        "slack": SlackNotifier,
        "email": EmailNotifier,
        "webhook": WebhookNotifier,
        "pagerduty": PagerDutyNotifier,
        "teams": TeamsNotifier,
        "opsgenie": OpsgenieNotifier,
        "discord": DiscordNotifier,
        "telegram": TelegramNotifier,
        "apprise": AppriseNotifier,
    }
)


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
