"""Slack: Block Kit messages, delivered to a loopback HTTP server.

The server stands in for slack.com twice: as an incoming webhook (any path, answers
``ok``) and as the Web API's ``chat.postMessage`` (``/api/chat.postMessage``, answers
``{"ok": ...}`` JSON).  It is a local HTTP server, not Slack.
"""

from __future__ import annotations

from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers.slack import SlackNotifier, message
from monitor.config.channel_settings import SlackSettings
from tests.alerting.notifiers.samples import RUNBOOK, STATUS_PAGE, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

TOKEN = "xoxb-1111-2222-secret-token"


def blocks_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["attachments"][0]["blocks"])


def fields_of(body: dict[str, Any]) -> dict[str, str]:
    """Field label -> shown value, from the section with fields."""
    (section,) = [b for b in blocks_of(body) if "fields" in b]
    pairs = (f["text"].split("\n", 1) for f in section["fields"])
    return {label.strip("*"): value for label, value in pairs}


class TestMessage:
    """The Block Kit body, independent of transport."""

    def test_firing_message_shows_everything_on_call_needs(self) -> None:
        """A firing message has a header, the summary, the facts, both links and a context."""
        body = message(sample())
        header, summary, facts, links, context = blocks_of(body)
        assert header == {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": ":rotating_light: FIRING: smoke_test_failure (critical)",
                "emoji": True,
            },
        }
        assert summary["text"] == {
            "type": "mrkdwn",
            "text": "api-test succeeds 50% of the time in eu-west-1",
        }
        assert fields_of(body) == {
            "Severity": "critical",
            "Check": "api-test",
            "Regions": "eu-west-1",
            "Value": "0.5 (threshold &lt; 0.9)",
            "Condition": "smoke_test.success &lt; 0.9",
            "Since": "<!date^1772600767^{date_short_pretty} {time}|2026-03-04 05:06:07 UTC>",
        }
        assert facts["type"] == "section"
        assert links["text"]["text"] == f"<{RUNBOOK}|Runbook> · <{STATUS_PAGE}|Status page>"
        assert context["type"] == "context"
        assert context["elements"][0]["text"].startswith("smokewatch · alert ")
        assert body["text"] == (
            ":rotating_light: FIRING: smoke_test_failure (critical): "
            "api-test succeeds 50% of the time in eu-west-1"
        )

    @pytest.mark.parametrize(
        ("kind", "severity", "colour", "title"),
        [
            ("firing", "critical", "#E01E5A", ":rotating_light: FIRING"),
            ("firing", "warning", "#ECB22E", ":rotating_light: FIRING"),
            ("firing", "info", "#36C5F0", ":rotating_light: FIRING"),
            ("reminder", "critical", "#E01E5A", ":repeat: STILL FIRING"),
            ("resolved", "critical", "#2EB67D", ":white_check_mark: RESOLVED"),
            ("no_data", "warning", "#9E9E9E", ":grey_question: NO DATA"),
        ],
        ids=["critical", "warning", "info", "reminder", "resolved", "no-data"],
    )
    def test_colour_and_title_follow_kind_and_severity(
        self, kind: Any, severity: Any, colour: str, title: str
    ) -> None:
        """The attachment bar is the severity's colour, green when resolved, grey for no data."""
        body = message(sample(kind=kind, severity=severity))
        assert body["attachments"][0]["color"] == colour
        assert blocks_of(body)[0]["text"]["text"].startswith(title)

    def test_resolved_message_says_when(self) -> None:
        """A resolved message adds the resolution time to the facts."""
        fields = fields_of(message(sample(kind="resolved")))
        assert (
            fields["Resolved"]
            == "<!date^1772601067^{date_short_pretty} {time}|2026-03-04 05:11:07 UTC>"
        )

    @pytest.mark.parametrize(
        ("condition", "value", "threshold", "shown"),
        [
            ("smoke_test.api_response > 500", 0.812, 0.5, "812 ms (threshold &gt; 500 ms)"),
            ("p95(smoke_test.duration) > 2s", 3.25, 2.0, "3.25 s (threshold &gt; 2 s)"),
            ("count(smoke_test.duration) < 3", 1.0, 3.0, "1 (threshold &lt; 3)"),
            ("smoke_test.success < 0.9", None, 0.9, "no data (threshold &lt; 0.9)"),
        ],
        ids=["ms", "seconds", "count-is-not-a-timing", "no-data"],
    )
    def test_value_is_shown_against_threshold_in_the_rules_units(
        self, condition: str, value: float | None, threshold: float, shown: str
    ) -> None:
        """Timings read in ms or s, counts and ratios as numbers, a missing value as no data."""
        n = sample(condition=condition, value=value, threshold=threshold)
        assert fields_of(message(n))["Value"] == shown

    def test_user_text_is_escaped_for_mrkdwn(self) -> None:
        """``<``, ``>`` and ``&`` in user text cannot turn into links or mentions."""
        n = sample(summary="a <!channel> & <https://evil.example|click>", check="a&b")
        body = message(n)
        assert blocks_of(body)[1]["text"]["text"] == (
            "a &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
        )
        assert fields_of(body)["Check"] == "a&amp;b"
        assert "<!channel>" not in body["text"]

    def test_without_links_there_is_no_links_block(self) -> None:
        """No runbook and no status page: no empty links section."""
        body = message(sample(runbook_url=None, status_page_url=None))
        assert [b["type"] for b in blocks_of(body)] == ["header", "section", "section", "context"]

    def test_many_regions_are_listed(self) -> None:
        """A multi-region alert lists every failing region."""
        body = message(sample(regions=("eu-west-1", "us-east-1")))
        assert fields_of(body)["Regions"] == "eu-west-1, us-east-1"


class TestIncomingWebhook:
    """Without a bot token, messages go to the incoming webhook."""

    async def test_posts_the_message_to_the_webhook(
        self, http_server: HttpServer, log: Any
    ) -> None:
        """The webhook receives JSON with the Block Kit body and the intended channel named."""
        hook = f"{http_server.url}/services/T000/B000/XXXXsecretXXXX"
        notifier = SlackNotifier(SlackSettings(webhook_url=hook), log=log)
        try:
            await notifier.send(sample())
        finally:
            await notifier.close()
        (request,) = http_server.received
        assert request.path == "/services/T000/B000/XXXXsecretXXXX"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("smokewatch/")
        body = request.json()
        assert set(body) == {"text", "attachments"}
        assert body == message(sample(), intended_channel="#alerts")
        assert blocks_of(body)[-1]["elements"][0]["text"].endswith(" · for #alerts")
        assert "secret" not in request.body.decode()

    async def test_resolved_message_is_delivered_green(
        self, http_server: HttpServer, log: Any
    ) -> None:
        """The resolved message reaches the webhook with the resolved colour and title."""
        notifier = SlackNotifier(SlackSettings(webhook_url=f"{http_server.url}/hook"), log=log)
        try:
            await notifier.send(sample(kind="resolved"))
        finally:
            await notifier.close()
        body = http_server.received[0].json()
        assert body["attachments"][0]["color"] == "#2EB67D"
        assert blocks_of(body)[0]["text"]["text"].startswith(":white_check_mark: RESOLVED")


class TestWebApi:
    """With a bot token, ``slack:#channel`` goes through a fake ``chat.postMessage``."""

    @pytest.fixture
    def notifier(self, http_server: HttpServer, log: Any) -> SlackNotifier:
        settings = SlackSettings(bot_token=TOKEN, api_url=f"{http_server.url}/api", timeout="2s")
        return SlackNotifier(settings, log=log)

    async def send(self, notifier: SlackNotifier, n: Notification) -> None:
        try:
            await notifier.send(n)
        finally:
            await notifier.close()

    async def test_posts_to_the_named_channel_with_the_token(
        self, http_server: HttpServer, notifier: SlackNotifier
    ) -> None:
        """chat.postMessage gets the bearer token, the channel and the Block Kit body."""
        http_server.script(Reply.json({"ok": True, "channel": "C123", "ts": "1.2"}))
        await self.send(notifier, sample(target="slack:#oncall"))
        (request,) = http_server.received
        assert request.path == "/api/chat.postMessage"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        body = request.json()
        assert body == {"channel": "#oncall", **message(sample(target="slack:#oncall"))}
        assert TOKEN not in request.body.decode()

    @pytest.mark.parametrize(
        ("error", "retryable"),
        [
            ("channel_not_found", False),
            ("not_in_channel", False),
            ("invalid_auth", False),
            ("token_revoked", False),
            ("ratelimited", True),
            ("internal_error", True),
            ("<script>", False),
        ],
        ids=["channel-not-found", "not-in-channel", "invalid-auth", "revoked", "ratelimited",
             "internal-error", "garbage-code"],
    )  # fmt: skip
    async def test_ok_false_is_a_delivery_error(
        self, http_server: HttpServer, notifier: SlackNotifier, error: str, retryable: bool
    ) -> None:
        """``{"ok": false}`` fails the delivery; only transient codes are retryable."""
        http_server.script(Reply.json({"ok": False, "error": error}))
        with pytest.raises(DeliveryError) as caught:
            await self.send(notifier, sample())
        assert caught.value.retryable is retryable
        expected = error if error.isidentifier() else "unknown_error"
        assert caught.value.message == f"slack chat.postMessage to #alerts: {expected}"
        assert TOKEN not in caught.value.message

    async def test_an_answer_that_is_not_json_is_retryable(
        self, http_server: HttpServer, notifier: SlackNotifier
    ) -> None:
        """A 200 HTML page (a proxy's) is not a Slack answer: retry later."""
        http_server.script(Reply(200, b"<html>maintenance</html>"))
        with pytest.raises(DeliveryError) as caught:
            await self.send(notifier, sample())
        assert caught.value.retryable is True
        assert caught.value.message == "slack chat.postMessage to #alerts: the answer is not JSON"
