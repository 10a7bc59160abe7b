"""Every HTTP channel, against every way a receiver fails: retryable or not, and no secret told.

The loopback server stands in for Slack (webhook and Web API), a webhook receiver,
PagerDuty, Teams (Workflows), Opsgenie (create and close), Discord and Telegram.
429/5xx/timeouts/refused connections are retryable (with ``Retry-After``
when given); other 4xx and redirects are not.  No error message contains a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from monitor.alerting.notification import DeliveryError, Kind, Notification, Notifier
from monitor.alerting.notifiers._http import retry_after_s
from monitor.alerting.notifiers.discord import DiscordNotifier
from monitor.alerting.notifiers.opsgenie import OpsgenieNotifier
from monitor.alerting.notifiers.pagerduty import PagerDutyNotifier
from monitor.alerting.notifiers.slack import SlackNotifier
from monitor.alerting.notifiers.teams import TeamsNotifier
from monitor.alerting.notifiers.telegram import TelegramNotifier
from monitor.alerting.notifiers.webhook import WebhookNotifier
from monitor.config.channel_settings import (
    DiscordSettings,
    OpsgenieSettings,
    PagerDutySettings,
    SlackSettings,
    TeamsSettings,
    TelegramSettings,
    WebhookSettings,
)
from tests.alerting.notifiers.samples import sample
from tests.alerting.notifiers.servers import HOST, HttpServer, Reply, free_port

# Long enough that a loaded machine answers a scripted reply in time, short for the hang test.
TIMEOUT = "1s"
SLACK_PATH = "/services/T0AAA/B0BBB/slackpathsecret42"
TOKEN = "xoxb-slack-bot-token-secret"
HOOK_TOKEN = "hook-url-token-secret"
HEADER = "Bearer header-secret-value"
ROUTING_KEY = "pd-routing-key-secret-0123456789"
TEAMS_SIG = "teams-signature-secret"
GENIE_KEY = "opsgenie-api-key-secret"
DISCORD_TOKEN = "discord-webhook-token-secret"
TELEGRAM_TOKEN = "123456:telegram-bot-token-secret"
SECRETS = ("slackpathsecret42", TOKEN, HOOK_TOKEN, "header-secret-value", ROUTING_KEY,
           TEAMS_SIG, GENIE_KEY, DISCORD_TOKEN, TELEGRAM_TOKEN)  # fmt: skip


@dataclass(frozen=True)
class Channel:
    build: Callable[[str, Any], Notifier]
    target: str
    ok: Reply
    kind: Kind = "firing"

    def notification(self) -> Notification:
        return sample(target=self.target, kind=self.kind)


CHANNELS = {
    "slack-webhook": Channel(
        lambda url, log: SlackNotifier(
            SlackSettings.model_validate({"webhook_url": url + SLACK_PATH, "timeout": TIMEOUT}),
            log=log,
        ),
        "slack:#alerts",
        Reply(200, b"ok"),
    ),
    "slack-api": Channel(
        lambda url, log: SlackNotifier(
            SlackSettings.model_validate(
                {"bot_token": TOKEN, "api_url": url + "/api", "timeout": TIMEOUT}
            ),
            log=log,
        ),
        "slack:#alerts",
        Reply.json({"ok": True}),
    ),
    "webhook": Channel(
        lambda url, log: WebhookNotifier(
            {
                "ops": WebhookSettings.model_validate(
                    {
                        "url": f"{url}/hook?token={HOOK_TOKEN}",
                        "headers": {"Authorization": HEADER},
                        "timeout": TIMEOUT,
                    }
                )
            },
            log=log,
        ),
        "webhook:ops",
        Reply(200, b""),
    ),
    "pagerduty": Channel(
        lambda url, log: PagerDutyNotifier(
            {
                "primary": PagerDutySettings.model_validate(
                    {"routing_key": ROUTING_KEY, "url": url + "/v2/enqueue", "timeout": TIMEOUT}
                )
            },
            log=log,
        ),
        "pagerduty:primary",
        Reply.json({"status": "success"}, 202),
    ),
    "teams": Channel(
        lambda url, log: TeamsNotifier(
            {
                "ops": TeamsSettings.model_validate(
                    {"url": f"{url}/wf?sig={TEAMS_SIG}", "timeout": TIMEOUT}
                )
            },
            log=log,
        ),
        "teams:ops",
        Reply(202, b""),
    ),
    "opsgenie-create": Channel(
        lambda url, log: OpsgenieNotifier(
            {
                "ops": OpsgenieSettings.model_validate(
                    {"api_key": GENIE_KEY, "api_url": url, "timeout": TIMEOUT}
                )
            },
            log=log,
        ),
        "opsgenie:ops",
        Reply.json({"result": "Request will be processed", "requestId": "r1"}, 202),
    ),
    "opsgenie-close": Channel(
        lambda url, log: OpsgenieNotifier(
            {
                "ops": OpsgenieSettings.model_validate(
                    {"api_key": GENIE_KEY, "api_url": url, "timeout": TIMEOUT}
                )
            },
            log=log,
        ),
        "opsgenie:ops",
        Reply.json({"result": "Request will be processed", "requestId": "r2"}, 202),
        kind="resolved",
    ),
    "discord": Channel(
        lambda url, log: DiscordNotifier(
            {
                "ops": DiscordSettings.model_validate(
                    {"url": f"{url}/api/webhooks/1/{DISCORD_TOKEN}", "timeout": TIMEOUT}
                )
            },
            log=log,
        ),
        "discord:ops",
        Reply(204, b""),
    ),
    "telegram": Channel(
        lambda url, log: TelegramNotifier(
            TelegramSettings.model_validate(
                {"bot_token": TELEGRAM_TOKEN, "api_url": url, "timeout": TIMEOUT}
            ),
            log=log,
        ),
        "telegram:-1001234567890",
        Reply.json({"ok": True, "result": {"message_id": 1}}),
    ),
}
CHANNEL_IDS = list(CHANNELS)


async def attempt(notifier: Notifier, n: Notification) -> DeliveryError | None:
    try:
        await notifier.send(n)
    except DeliveryError as exc:
        return exc
    finally:
        await notifier.close()
    return None


def assert_no_secret(error: DeliveryError) -> None:
    for secret in SECRETS:
        assert secret not in error.message
        assert secret not in str(error)


@pytest.mark.parametrize("channel", CHANNEL_IDS)
class TestHttpFailures:
    """One row per failure, for every HTTP channel."""

    async def test_success_raises_nothing(
        self, channel: str, http_server: HttpServer, log: Any
    ) -> None:
        """The channel's normal answer is a delivery."""
        spec = CHANNELS[channel]
        http_server.script(spec.ok)
        assert await attempt(spec.build(http_server.url, log), spec.notification()) is None
        assert len(http_server.received) == 1

    @pytest.mark.parametrize(
        ("reply", "retryable", "retry_after"),
        [
            (Reply(500, b"boom"), True, None),
            (Reply(502, b""), True, None),
            (Reply(503, b"", {"Retry-After": "12"}), True, 12.0),
            (Reply(429, b"slow down", {"Retry-After": "7"}), True, 7.0),
            (Reply(429, b""), True, None),
            (Reply(408, b""), True, None),
            (Reply(404, b"channel_not_found"), False, None),
            (Reply(403, b"invalid_token"), False, None),
            (Reply(410, b"channel_is_archived"), False, None),
            (Reply(400, b"invalid_payload"), False, None),
            (Reply(302, b"", {"Location": "https://elsewhere.example/"}), False, None),
        ],
        ids=["500", "502", "503-retry-after", "429-retry-after", "429-bare", "408", "404",
             "403", "410", "400", "302"],
    )  # fmt: skip
    async def test_status_decides_retry(
        self,
        channel: str,
        http_server: HttpServer,
        log: Any,
        reply: Reply,
        retryable: bool,
        retry_after: float | None,
    ) -> None:
        """429/5xx/408 are retryable (Retry-After honoured), other 4xx and 3xx are not."""
        spec = CHANNELS[channel]
        http_server.script(reply)
        error = await attempt(spec.build(http_server.url, log), spec.notification())
        assert error is not None
        assert error.retryable is retryable
        assert error.retry_after_s == retry_after
        assert f"HTTP {reply.status}" in error.message
        assert_no_secret(error)

    async def test_echoed_request_is_redacted(
        self, channel: str, http_server: HttpServer, log: Any
    ) -> None:
        """A receiver that echoes the request into its error body leaks nothing through us."""
        spec = CHANNELS[channel]
        http_server.script(Reply(500))
        http_server.echo_body = True
        error = await attempt(spec.build(http_server.url, log), spec.notification())
        assert error is not None
        assert error.retryable
        assert_no_secret(error)

    async def test_hanging_server_times_out_retryable(
        self, channel: str, http_server: HttpServer, log: Any
    ) -> None:
        """A receiver that never answers is cut off at the timeout; retry later."""
        spec = CHANNELS[channel]
        http_server.script(Reply(hang=True))
        started = datetime.now(UTC)
        error = await attempt(spec.build(http_server.url, log), spec.notification())
        assert error is not None
        assert error.retryable is True
        assert error.message.endswith("no answer within 1s")
        assert datetime.now(UTC) - started < timedelta(seconds=3)
        assert_no_secret(error)

    async def test_refused_connection_is_retryable(self, channel: str, log: Any) -> None:
        """Nothing listening: retryable, and the URL is not in the message."""
        spec = CHANNELS[channel]
        url = f"http://{HOST}:{free_port()}"
        error = await attempt(spec.build(url, log), spec.notification())
        assert error is not None
        assert error.retryable is True
        assert "ConnectError" in error.message
        assert url not in error.message
        assert_no_secret(error)


class TestRetryAfter:
    """Parsing ``Retry-After``."""

    NOW = datetime(2026, 3, 4, 5, 0, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("30", 30.0),
            ("1.5", 1.5),
            (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
            (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
            ("soon", None),
            ("", None),
        ],
        ids=["seconds", "fraction", "http-date", "date-in-the-past", "garbage", "empty"],
    )
    def test_seconds_or_http_date(self, header: str, expected: float | None) -> None:
        """Delta-seconds and HTTP dates are both understood; anything else is ignored."""
        response = httpx.Response(429, headers={"Retry-After": header} if header else {})
        assert retry_after_s(response, now=self.NOW) == expected
