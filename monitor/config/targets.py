"""Where a rule may send: the channels' target forms and the check that a target can be delivered.

:data:`CHANNEL_KINDS` is the one list of channels as the config sees them: each one's
name, its section of ``alerting.channels`` (:class:`~monitor.config.channels.ChannelSettings`),
its settings model, how a target names it and what makes an address valid.  The rules'
target syntax (:data:`NotifyTarget`) and the load-time check that a target can be
delivered (:func:`target_problem`) derive from it; ``monitor.alerting.notifiers.registry``
pairs each entry with the notifier that sends to it.  Here, in the config package, so
that validating a config imports no notifier (and no client library).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator

from monitor.config.channel_settings import (
    EMAIL_ADDRESS,
    AppriseSettings,
    DiscordSettings,
    EmailSettings,
    OpsgenieSettings,
    PagerDutySettings,
    SlackSettings,
    TeamsSettings,
    TelegramSettings,
    WebhookSettings,
)
from monitor.config.channels import ChannelSettings
from monitor.errors import RegistryError

AddressProblem = Callable[[str], str | None]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # as split_target reads a target's channel
CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


def split_target(target: str) -> tuple[str, str]:
    """``"slack:#alerts"`` -> ``("slack", "#alerts")``; a bare address is e-mail.

    Whether the channel exists is the registry's to say (``target_problem``).
    """
    head, sep, rest = target.partition(":")
    if sep and _NAME.match(head):
        return head, rest
    return "email", target


@dataclass(frozen=True, slots=True)
class ChannelKind:
    """One channel.  ``named``: ``alerting.channels.<section>`` maps names to ``settings``
    and a target is ``<name>:NAME``; otherwise the section is one ``settings`` and a target
    is ``<name>:ADDRESS`` (``address`` validates it; ``needs`` says what the section gives)."""

    name: str
    settings: type[BaseModel]
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


def email_problem(address: str) -> str | None:
    """Why ``address`` is not an e-mail address; None when it is one."""
    return None if EMAIL_ADDRESS.match(address) else f"{address!r} is not an e-mail address"


def chat_problem(address: str) -> str | None:
    """Why ``address`` is not a Telegram chat; None when it is one."""
    if CHAT_ID.match(address):
        return None
    return f"{address!r} is not a Telegram chat id (a number such as -1001234567890, or @channel)"


def channel_kinds(*kinds: ChannelKind) -> Mapping[str, ChannelKind]:
    """The channels by name; :class:`RegistryError` for an entry that could not work.

    Two entries of one name (the second would silently replace the first), a name a
    target cannot spell (``name:ADDRESS``), or a section that ``alerting.channels``
    does not have (building the notifiers would fail with an ``AttributeError``).
    """
    by_name: dict[str, ChannelKind] = {}
    sections = ChannelSettings.model_fields
    for kind in kinds:
        if kind.name in by_name:
            raise RegistryError(f"channel {kind.name!r} is registered twice")
        if not _NAME.match(kind.name):
            raise RegistryError(
                f"channel {kind.name!r}: a name is lower-case letters, digits and '_'"
            )
        if kind.key not in sections:
            raise RegistryError(
                f"channel {kind.name!r}: alerting.channels has no section {kind.key!r} "
                "(add the field to ChannelSettings)"
            )
        by_name[kind.name] = kind
    return MappingProxyType(by_name)


CHANNEL_KINDS: Mapping[str, ChannelKind] = channel_kinds(
    ChannelKind("slack", SlackSettings, "'slack:#channel'", named=False,
                needs="a webhook_url or a bot_token"),
    ChannelKind("email", EmailSettings, "an e-mail address", named=False,
                needs="an SMTP server", address=email_problem),
    ChannelKind("webhook", WebhookSettings, "'webhook:NAME'", section="webhooks"),
    ChannelKind("pagerduty", PagerDutySettings, "'pagerduty:NAME'",
                label="pagerduty service"),
    ChannelKind("teams", TeamsSettings, "'teams:NAME'", label="teams webhook"),
    ChannelKind("opsgenie", OpsgenieSettings, "'opsgenie:NAME'", label="opsgenie integration"),
    ChannelKind("discord", DiscordSettings, "'discord:NAME'", label="discord webhook"),
    ChannelKind("telegram", TelegramSettings, "'telegram:CHAT_ID'", named=False,
                needs="a bot_token", address=chat_problem),
    ChannelKind("apprise", AppriseSettings, "'apprise:NAME'", label="apprise entry"),
)  # fmt: skip


def target_forms() -> str:
    """How a rule may name targets, for messages: ``'slack:#channel', an e-mail address...``."""
    forms = [kind.target for kind in CHANNEL_KINDS.values()]
    return ", ".join(forms[:-1]) + f" or {forms[-1]}"


def target_problem(target: str, settings: ChannelSettings | None) -> str | None:
    """Why ``target`` cannot be delivered with ``settings``; None when it can.

    ``"slack:#x"`` needs ``alerting.channels.slack``; an address (or ``email:addr``)
    needs ``email``; ``webhook:NAME`` / ``pagerduty:NAME`` (and the other named channels)
    need that name configured; an unknown channel is named with the known ones.
    """
    name, address = split_target(target)
    kind = CHANNEL_KINDS.get(name)
    if kind is None:
        return f"unknown channel {name!r} in {target!r}: expected {target_forms()}"
    if not address:
        return f"target {target!r} names no {name} address"
    return kind.problem(target, address, settings or ChannelSettings())


_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")
_CHANNEL = re.compile(r"^(" + "|".join(re.escape(name) for name in CHANNEL_KINDS) + r"):\S+$")


def parse_notify_target(value: object) -> str:
    """``value`` when it is an e-mail address or ``CHANNEL:TARGET`` of a known channel."""
    if not isinstance(value, str):
        raise ValueError("a notify target is a string: an email address or 'slack:#channel'")
    if _EMAIL.match(value) or _CHANNEL.match(value):
        return value
    raise ValueError(f"invalid notify target {value!r}: expected {target_forms()}")


NotifyTarget = Annotated[str, BeforeValidator(parse_notify_target)]
"""A rule's (or ``region_health``'s) ``notify`` target: an e-mail address or ``CHANNEL:TARGET``."""
