"""``alerting.channels``: what loads, what is refused and why, and secrets kept secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.config.channel_settings import EmailSettings
from monitor.config.channels import ChannelSettings

SECRETS = {
    "slack": {
        "webhook_url": "https://hooks.slack.example/services/T/B/slacksecret",
        "bot_token": "xoxb-tok",
    },
    "email": {
        "host": "smtp.example.com",
        "from_address": "a@example.com",
        "username": "u",
        "password": "smtp-pw",
    },
    "webhooks": {
        "ops": {"url": "https://h.example/x?token=hooksecret", "headers": {"X-Key": "hdr-secret"}}
    },
    "pagerduty": {"primary": {"routing_key": "pd-secret"}},
}


class TestChannelSettings:
    """Parsing and validation."""

    def test_defaults(self) -> None:
        """Every channel is off by default; present ones get documented defaults."""
        assert ChannelSettings() == ChannelSettings(
            slack=None, email=None, webhooks={}, pagerduty={}, teams={}, opsgenie={},
            discord={}, telegram=None, apprise={},
        )  # fmt: skip
        s = ChannelSettings.model_validate(SECRETS)
        assert s.slack is not None
        assert s.slack.api_url == "https://slack.com/api"
        assert s.slack.timeout == timedelta(seconds=10)
        assert s.email is not None
        assert s.email.security == "starttls"
        assert s.email.timeout == timedelta(seconds=30)
        assert s.pagerduty["primary"].url == "https://events.pagerduty.com/v2/enqueue"

    @pytest.mark.parametrize(
        ("security", "port", "effective"),
        [("starttls", None, 587), ("tls", None, 465), ("none", None, 25), ("starttls", 2525, 2525)],
        ids=["starttls", "tls", "none", "explicit"],
    )
    def test_email_port_follows_security(
        self, security: str, port: int | None, effective: int
    ) -> None:
        """The SMTP port defaults by security mode unless given."""
        e = EmailSettings.model_validate(
            {"host": "h", "from_address": "a@b.example", "security": security, "port": port}
        )
        assert e.effective_port == effective

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"slack": {}}, "slack needs a webhook_url or a bot_token"),
            ({"slack": {"bot_token": "x", "timeout": 0}}, "timeout must be positive"),
            ({"slack": {"bot_token": "x", "api_url": "slack.com/api"}}, "api_url must be an http"),
            ({"slack": {"webhook_url": "ftp://hooks/secret"}}, "webhook_url must be an http"),
            ({"email": {"host": "h", "from_address": "nobody"}}, "is not an e-mail address"),
            ({"email": {"host": "h", "from_address": "a@b.c", "username": "u"}},
             "username and password go together"),
            ({"email": {"host": "h", "from_address": "a@b.c", "username": "u", "password": "p",
                        "security": "none"}}, "AUTH needs security 'starttls' or 'tls'"),
            ({"email": {"host": "h", "from_address": "a@b.c", "security": "ssl"}}, "security"),
            ({"webhooks": {"bad name": {"url": "https://x.example"}}}, "should match pattern"),
            ({"webhooks": {"ops": {"url": "mailto:x"}}}, "url must be an http"),
            ({"webhooks": {"ops": {"url": "http://h:99999/"}}}, "url must be an http"),
            ({"pagerduty": {"p": {}}}, "routing_key"),
            ({"matrix": {}}, "Extra inputs are not permitted"),
        ],
        ids=["slack-empty", "zero-timeout", "api-url-no-scheme", "webhook-not-http",
             "bad-from", "user-without-password", "auth-in-clear", "unknown-security",
             "webhook-name", "webhook-url", "webhook-port", "pagerduty-key", "unknown-channel"],
    )  # fmt: skip
    def test_invalid_settings_are_refused(self, data: dict[str, Any], message: str) -> None:
        """Each mistake is a validation error that says what is wrong."""
        with pytest.raises(ValidationError) as caught:
            ChannelSettings.model_validate(data)
        assert message in str(caught.value)

    def test_bad_url_error_does_not_quote_the_url(self) -> None:
        """A refused secret URL is not repeated in the error message itself."""
        with pytest.raises(ValidationError) as caught:
            ChannelSettings.model_validate({"webhooks": {"a": {"url": "ftp://x/topsecret"}}})
        assert all("topsecret" not in e["msg"] for e in caught.value.errors())


class TestSecrets:
    """Secrets are ``SecretStr``: hidden in reprs and dumps, listed for the redactor."""

    def test_repr_and_dump_hide_every_secret(self) -> None:
        """No secret shows in repr() or a JSON dump."""
        s = ChannelSettings.model_validate(SECRETS)
        shown = repr(s) + s.model_dump_json()
        for secret in (
            "slacksecret",
            "xoxb-tok",
            "smtp-pw",
            "hooksecret",
            "hdr-secret",
            "pd-secret",
        ):
            assert secret not in shown

    def test_secret_values_lists_them_all(self) -> None:
        """secret_values() hands the redactor every secret of every channel."""
        s = ChannelSettings.model_validate(SECRETS)
        assert set(s.secret_values()) == {
            "https://hooks.slack.example/services/T/B/slacksecret",
            "xoxb-tok",
            "smtp-pw",
            "https://h.example/x?token=hooksecret",
            "hdr-secret",
            "pd-secret",
        }
