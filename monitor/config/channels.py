"""``alerting.channels`` in ``smokewatch.yaml``: one section per registered channel.

Each field is the section of one entry of :data:`monitor.config.targets.CHANNEL_KINDS`
(the registry test proves they match, field for field): a single section for a channel
whose target names an address (``slack:#x``, an e-mail address, ``telegram:CHAT_ID``),
entries by name for the others (``webhook:NAME``...).

```yaml
alerting:
  channels:
    slack: {bot_token: "${SLACK_BOT_TOKEN}"}          # slack:#alerts -> chat.postMessage
    email: {host: smtp.example.com, username: alerts, password: "${SMTP_PASSWORD}",
            from_address: smokewatch@example.com}     # oncall@example.com
    webhooks: {am: {url: "${AM_HOOK}"}}               # webhook:am
    pagerduty: {primary: {routing_key: "${PD_KEY}"}}  # pagerduty:primary
    teams: {ops: {url: "${TEAMS_FLOW_URL}"}}          # teams:ops
    opsgenie: {ops: {api_key: "${OPSGENIE_KEY}", region: eu}}  # opsgenie:ops
    discord: {ops: {url: "${DISCORD_HOOK}"}}          # discord:ops
    telegram: {bot_token: "${TELEGRAM_TOKEN}"}        # telegram:-1001234567890
    apprise: {phones: {urls: ["${NTFY_URL}"]}}        # apprise:phones
```
"""

from __future__ import annotations

from pydantic import Field

from monitor.config.channel_settings import (
    AppriseSettings,
    ChannelName,
    DiscordSettings,
    EmailSettings,
    OpsgenieSettings,
    PagerDutySettings,
    SlackSettings,
    TeamsSettings,
    TelegramSettings,
    WebhookSettings,
    secret_values_of,
)
from monitor.modeltypes import Strict


class ChannelSettings(Strict):
    """Where notifications can go; a rule's ``notify`` targets must name configured channels."""

    slack: SlackSettings | None = Field(None, description="'slack:#channel' targets")
    email: EmailSettings | None = Field(None, description="e-mail address targets")
    webhooks: dict[ChannelName, WebhookSettings] = Field(
        default_factory=dict, description="'webhook:NAME' targets, by name"
    )
    pagerduty: dict[ChannelName, PagerDutySettings] = Field(
        default_factory=dict, description="'pagerduty:NAME' targets, by name"
    )
    teams: dict[ChannelName, TeamsSettings] = Field(
        default_factory=dict, description="'teams:NAME' targets, by name"
    )
    opsgenie: dict[ChannelName, OpsgenieSettings] = Field(
        default_factory=dict, description="'opsgenie:NAME' targets, by name"
    )
    discord: dict[ChannelName, DiscordSettings] = Field(
        default_factory=dict, description="'discord:NAME' targets, by name"
    )
    telegram: TelegramSettings | None = Field(None, description="'telegram:CHAT_ID' targets")
    apprise: dict[ChannelName, AppriseSettings] = Field(
        default_factory=dict, description="'apprise:NAME' targets, by name"
    )

    def secret_values(self) -> tuple[str, ...]:
        """Every secret of every channel (each ``SecretStr`` field), for the redactors."""
        return secret_values_of(self)
