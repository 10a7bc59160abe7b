"""Every channel's settings model (``alerting.channels.<section>``) and the fields all share.

The config package owns them (the loader validates them, :mod:`monitor.config.targets`
checks targets against them); each notifier of ``monitor.alerting.notifiers`` reads its
own.  Validating a config therefore imports no notifier and no client library.

Every channel is off until its section is present.  Whatever can open a door (webhook
URLs, tokens, routing keys, passwords, header values) is a ``SecretStr``: it never shows
in a repr, a log line, a notification or a delivery error.  :func:`secret_values_of`
finds every one in a settings model, so the loader adds them to the config's secrets
(the Runtime's redactor and the API's scrubber mask them), also when they were written
into the file literally rather than through ``${ENV}``.  A secret typed ``str`` would
escape all of that: the registry test (tests/alerting/notifiers/test_registry.py) catches it.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from email.utils import parseaddr
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.modeltypes import NAME_PATTERN, Duration, Strict

EMAIL_ADDRESS = re.compile(r"^[^@\s:<>]+@[^@\s<>]+\.[^@\s<>]+$")
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}
OPSGENIE_API_URLS = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}
APPRISE_HINT = "the apprise channel needs the apprise library: pip install 'smokewatch[apprise]'"
ChannelName = Annotated[str, Field(pattern=NAME_PATTERN)]


def _positive(value: timedelta) -> timedelta:
    if value.total_seconds() <= 0:
        raise ValueError("timeout must be positive")
    return value


Timeout = Annotated[Duration, AfterValidator(_positive)]


def secret_values_of(value: object) -> tuple[str, ...]:
    """Every non-empty ``SecretStr`` inside ``value`` (a model, a mapping, a list), in order."""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return (secret,) if secret else ()
    items: Iterable[object]
    if isinstance(value, BaseModel):
        items = (getattr(value, name) for name in type(value).model_fields)
    elif isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return ()
    return tuple(secret for item in items for secret in secret_values_of(item))


def http_url(value: str, what: str) -> str:
    """``value`` when it is an http(s) URL with a host and a valid port."""
    # The value itself is never quoted: it may be a secret URL.
    problem = ValueError(f"{what} must be an http:// or https:// URL")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port out of range
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem
    return value


def _secret_http_url(value: SecretStr, info: ValidationInfo) -> SecretStr:
    http_url(value.get_secret_value(), info.field_name or "url")
    return value


def _plain_http_url(value: str, info: ValidationInfo) -> str:
    return http_url(value, info.field_name or "url").rstrip("/")


# A URL that carries a token (a webhook): kept secret, never quoted in an error.
SecretHttpUrl = Annotated[SecretStr, AfterValidator(_secret_http_url)]
# An API base URL (no secret in it); a trailing slash is dropped.
HttpUrl = Annotated[str, AfterValidator(_plain_http_url)]


class SlackSettings(Strict):
    """Slack: an incoming webhook, and/or a bot token for ``chat.postMessage``."""

    webhook_url: SecretStr | None = Field(
        None,
        description="incoming webhook URL (secret); it posts to the channel it was created "
        "for, so 'slack:#x' targets all land there (the message names #x)",
    )
    bot_token: SecretStr | None = Field(
        None,
        description="bot token (xoxb-..., secret) with chat:write; 'slack:#x' then posts to #x "
        "(the bot must be a member of private channels)",
    )
    api_url: str = Field(
        "https://slack.com/api", description="Slack Web API base URL (chat.postMessage is under it)"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one message")

    @field_validator("api_url")
    @classmethod
    def _api_url_http(cls, value: str) -> str:
        return http_url(value, "api_url").rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            http_url(value.get_secret_value(), "webhook_url")
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackSettings:
        if self.webhook_url is None and self.bot_token is None:
            raise ValueError("slack needs a webhook_url or a bot_token")
        return self


class EmailSettings(Strict):
    """SMTP submission: STARTTLS (587), implicit TLS (465) or none (25), with optional AUTH."""

    host: str = Field(min_length=1, description="SMTP server host name")
    port: int | None = Field(
        None, ge=1, le=65535, description="default: 587 starttls, 465 tls, 25 none"
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls: upgrade a plain connection (required, never opportunistic); "
        "tls: TLS from the first byte (SMTPS); none: plain text (local relays only)",
    )
    username: str | None = Field(None, description="AUTH user (PLAIN or LOGIN, as offered)")
    password: SecretStr | None = Field(None, description="AUTH password (secret)")
    from_address: str = Field(
        description="the From address, e.g. smokewatch@example.com or 'smokewatch <a@b.c>'"
    )
    ca_file: str | None = Field(
        None, description="CA bundle to verify the server certificate (private relays)"
    )
    timeout: Timeout = Field(timedelta(seconds=30), description="bound on one message")

    @field_validator("from_address")
    @classmethod
    def _from_is_an_address(cls, value: str) -> str:
        if not EMAIL_ADDRESS.match(parseaddr(value)[1]):
            raise ValueError(f"from_address {value!r} is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _credentials_together_and_encrypted(self) -> EmailSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.security == "none":
            raise ValueError(
                "AUTH needs security 'starttls' or 'tls': the password would cross the "
                "network in clear text"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else SMTP_PORTS[self.security]


class WebhookSettings(Strict):
    """A generic webhook receiving Alertmanager-compatible JSON (version 4)."""

    url: SecretStr = Field(description="where to POST (secret: such URLs often embed a token)")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="extra request headers, e.g. Authorization (secret)"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one request")

    @field_validator("url")
    @classmethod
    def _url_http(cls, value: SecretStr) -> SecretStr:
        http_url(value.get_secret_value(), "url")
        return value


class PagerDutySettings(Strict):
    """A PagerDuty service's Events API v2 integration."""

    routing_key: SecretStr = Field(description="the integration key (secret)")
    url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="the Events API v2 endpoint"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one event")

    @field_validator("url")
    @classmethod
    def _url_http(cls, value: str) -> str:
        return http_url(value, "url")


class TeamsSettings(Strict):
    """One Teams Workflows webhook."""

    url: SecretHttpUrl = Field(
        description="the workflow's HTTP POST URL (secret: it carries the signature `sig=`)"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one request")


class OpsgenieSettings(Strict):
    """One Opsgenie API integration (its API key decides the team the alerts go to)."""

    api_key: SecretStr = Field(description="the API integration's key (secret)")
    region: Literal["us", "eu"] = Field(
        "us", description="us: api.opsgenie.com; eu: api.eu.opsgenie.com"
    )
    api_url: HttpUrl | None = Field(
        None, description="overrides the region's API base URL (a proxy, a test server)"
    )
    tags: list[str] = Field(
        default_factory=list, description="tags added to every alert (up to 20 in all)"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one request")

    @property
    def base_url(self) -> str:
        return self.api_url or OPSGENIE_API_URLS[self.region]


class DiscordSettings(Strict):
    """One Discord channel webhook."""

    url: SecretHttpUrl = Field(
        description="the webhook URL, https://discord.com/api/webhooks/ID/TOKEN (secret)"
    )
    username: str = Field("smokewatch", min_length=1, description="the name the message shows")
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one request")


class TelegramSettings(Strict):
    """A Telegram bot (made with @BotFather) that posts to the chats the targets name."""

    bot_token: SecretStr = Field(description="the bot's token, 123456:ABC-... (secret)")
    api_url: HttpUrl = Field(
        "https://api.telegram.org", description="Bot API base URL (a local Bot API server)"
    )
    timeout: Timeout = Field(timedelta(seconds=10), description="bound on one message")


def apprise_library() -> Any:
    """The apprise module (an optional extra); ``ValueError`` saying how to install it."""
    if importlib.util.find_spec("apprise") is None:
        raise ValueError(APPRISE_HINT)
    import apprise as apprise_lib  # noqa: PLC0415 -- an optional extra, imported when used

    return apprise_lib


class AppriseSettings(Strict):
    """One named list of apprise URLs; every one of them gets each notification."""

    urls: list[SecretStr] = Field(
        min_length=1, description="apprise URLs (secret: most carry a token), e.g. ntfy://topic"
    )
    timeout: Timeout = Field(timedelta(seconds=30), description="bound on one notification")

    @field_validator("urls")
    @classmethod
    def _urls_apprise_knows(cls, urls: list[SecretStr]) -> list[SecretStr]:
        library = apprise_library()
        for i, url in enumerate(urls):
            if library.Apprise.instantiate(url.get_secret_value()) is None:
                # The URL itself is never quoted: it carries the token.
                raise ValueError(
                    f"urls[{i}] is not a URL apprise supports (unknown scheme, or a part missing)"
                )
        return urls
