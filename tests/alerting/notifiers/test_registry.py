"""The registry: every channel has a builder, builds follow settings, targets are validated."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from monitor.alerting.notification import CHANNELS
from monitor.alerting.notifiers import NOTIFIERS, ChannelSettings, build_notifiers, target_problem

FULL = ChannelSettings.model_validate(
    {
        "slack": {"webhook_url": "https://hooks.slack.example/services/T/B/x"},
        "email": {"host": "smtp.example.com", "from_address": "smokewatch@example.com"},
        "webhooks": {"ops": {"url": "https://hooks.example.com/am"}},
        "pagerduty": {"primary": {"routing_key": "k"}},
    }
)


class TestRegistry:
    """``NOTIFIERS`` and ``build_notifiers``."""

    def test_every_channel_has_a_builder(self) -> None:
        """The registry covers exactly the channels a target can name."""
        assert set(NOTIFIERS) == set(CHANNELS)

    @pytest.mark.parametrize("channel", CHANNELS)
    async def test_every_entry_satisfies_the_protocol(self, channel: str, log: Any) -> None:
        """Each built notifier has its channel name and async send/close."""
        notifier = NOTIFIERS[channel](FULL, log)
        assert notifier is not None
        try:
            assert notifier.channel == channel
            assert inspect.iscoroutinefunction(notifier.send)
            assert inspect.iscoroutinefunction(notifier.close)
            assert list(inspect.signature(notifier.send).parameters) == ["notification"]
        finally:
            await notifier.close()

    async def test_builds_only_configured_channels(self, log: Any) -> None:
        """Keyed by channel; unconfigured channels are absent."""
        built = build_notifiers(FULL, log=log)
        try:
            assert sorted(built) == sorted(CHANNELS)
        finally:
            for notifier in built.values():
                await notifier.close()
        only_email = ChannelSettings.model_validate(
            {"email": FULL.model_dump()["email"] | {"password": None}}
        )
        built = build_notifiers(only_email, log=log)
        assert list(built) == ["email"]
        await built["email"].close()

    @pytest.mark.parametrize("settings", [None, ChannelSettings()], ids=["none", "empty"])
    def test_nothing_configured_builds_nothing(
        self, settings: ChannelSettings | None, log: Any
    ) -> None:
        """No channels, no notifiers."""
        assert build_notifiers(settings, log=log) == {}


class TestTargetProblem:
    """Load-time validation of a rule's ``notify`` targets."""

    @pytest.mark.parametrize(
        "target",
        ["slack:#alerts", "slack:C0123456", "oncall@example.com", "email:oncall@example.com",
         "webhook:ops", "pagerduty:primary"],
        ids=["slack-channel", "slack-id", "address", "email-prefix", "webhook", "pagerduty"],
    )  # fmt: skip
    def test_deliverable_targets(self, target: str) -> None:
        """With every channel configured these targets are deliverable."""
        assert target_problem(target, FULL) is None

    @pytest.mark.parametrize(
        ("target", "settings", "problem"),
        [
            ("slack:#alerts", ChannelSettings(), "'slack:#alerts' needs alerting.channels.slack "
             "(a webhook_url or a bot_token)"),
            ("oncall@example.com", None, "'oncall@example.com' needs alerting.channels.email "
             "(an SMTP server)"),
            ("email:not-an-address", FULL, "'not-an-address' is not an e-mail address"),
            ("webhook:nope", FULL, "no webhook named 'nope' in alerting.channels.webhooks "
             "(configured: ops)"),
            ("webhook:ops", ChannelSettings(), "no webhook named 'ops' in "
             "alerting.channels.webhooks (configured: none)"),
            ("pagerduty:other", FULL, "no pagerduty service named 'other' in "
             "alerting.channels.pagerduty (configured: primary)"),
            ("slack:", FULL, "target 'slack:' names no slack address"),
        ],
        ids=["slack-missing", "email-missing", "bad-address", "unknown-webhook",
             "no-webhooks", "unknown-pagerduty", "empty-address"],
    )  # fmt: skip
    def test_undeliverable_targets_say_why(
        self, target: str, settings: ChannelSettings | None, problem: str
    ) -> None:
        """The problem names the missing setting or the unknown name."""
        assert target_problem(target, settings) == problem
