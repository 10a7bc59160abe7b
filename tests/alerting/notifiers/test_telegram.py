"""Telegram: the Bot API's sendMessage on a loopback server standing in for api.telegram.org."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.telegram import MAX_TEXT, TelegramNotifier, text
from monitor.config.channel_settings import TelegramSettings
from monitor.config.targets import chat_problem
from tests.alerting.notifiers.samples import ARTIFACT, RUNBOOK, STATUS_PAGE, failing, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

TOKEN = "123456:AAE-telegram-5ecret-token"
SENT = Reply.json({"ok": True, "result": {"message_id": 7}})


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[TelegramNotifier]:
    settings = TelegramSettings.model_validate({"bot_token": TOKEN, "api_url": http_server.url})
    http_server.default = SENT
    notifier = TelegramNotifier(settings, log=log)
    yield notifier
    await notifier.close()


class TestSendMessage:
    """What the Bot API receives."""

    async def test_firing_message_field_by_field(
        self, notifier: TelegramNotifier, http_server: HttpServer
    ) -> None:
        """sendMessage to the chat, HTML with title, facts, reason, evidence and links."""
        await notifier.send(failing(target="telegram:-1001234567890"))
        (request,) = http_server.received
        assert request.path == f"/bot{TOKEN}/sendMessage"
        body = request.json()
        assert {k: body[k] for k in ("chat_id", "parse_mode", "disable_web_page_preview")} == {
            "chat_id": -1001234567890,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        assert body["text"].splitlines() == [
            "🚨 <b>FIRING: smoke_test_failure (critical)</b>",
            "api-test succeeds 50% of the time in eu-west-1",
            "<b>Severity:</b> critical",
            "<b>Check:</b> api-test",
            "<b>Regions:</b> eu-west-1",
            "<b>Value:</b> 0.5 (threshold &lt; 0.9)",
            "<b>Condition:</b> smoke_test.success &lt; 0.9",
            "<b>Since:</b> 2026-03-04 05:06:07 UTC",
            "<b>Reason:</b> timeout",
            "",
            "<b>eu-west-1: fail (timeout) at 2026-03-04 05:10:30 UTC</b>",
            "Result: timed out after 5 s",
            "Attempts (2): #1 fail in 5000 ms, then waited 1 s; #2 fail in 5001 ms",
            "Failed: json $.ok: expected true, got false",
            "Timings: total 5001 ms (usual 42 ms)",
            f'<a href="{ARTIFACT}">response.txt</a>',
            "",
            f'<a href="{RUNBOOK}">Runbook</a> · <a href="{STATUS_PAGE}">Status page</a>',
        ]

    async def test_channel_username_is_sent_as_is(
        self, notifier: TelegramNotifier, http_server: HttpServer
    ) -> None:
        """An @channel target is a string chat_id."""
        await notifier.send(sample(target="telegram:@smoke_alerts", kind="resolved"))
        body = http_server.received[0].json()
        assert body["chat_id"] == "@smoke_alerts"
        assert body["text"].startswith("✅ <b>RESOLVED: smoke_test_failure (critical)</b>")
        assert "<b>Resolved:</b> 2026-03-04 05:11:07 UTC" in body["text"]

    def test_long_evidence_is_dropped_whole_under_the_limit(self) -> None:
        """Evidence lines that would pass 4096 characters are left out, links kept."""
        many = tuple(
            {"region": f"r{i}", "status": "fail", "message": "<x>" * 80} for i in range(60)
        )
        out = text(sample(evidence=many))
        assert len(out) <= MAX_TEXT
        assert out.endswith(f'<a href="{STATUS_PAGE}">Status page</a>')
        assert out.count("<b>") == out.count("</b>")

    @pytest.mark.parametrize(
        ("address", "ok"),
        [("-1001234567890", True), ("42", True), ("@smoke_alerts", True), ("#general", False),
         ("@ab", False), ("smoke alerts", False)],
        ids=["group", "user", "channel", "slack-style", "short-username", "spaces"],
    )  # fmt: skip
    def test_chat_ids(self, address: str, ok: bool) -> None:
        """Numbers and @usernames are chats; anything else is a load-time problem."""
        assert (chat_problem(address) is None) is ok


class TestFailures:
    """Telegram's own answers (the status table is in test_failures.py)."""

    async def test_flood_wait_in_the_body_is_honoured(
        self, notifier: TelegramNotifier, http_server: HttpServer
    ) -> None:
        """429 without Retry-After: the wait comes from parameters.retry_after."""
        http_server.default = Reply.json(
            {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 14",
             "parameters": {"retry_after": 14}}, 429,
        )  # fmt: skip
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="telegram:42"))
        assert caught.value.retryable is True
        assert caught.value.retry_after_s == 14.0

    async def test_chat_not_found_is_final_and_hides_the_token(
        self, notifier: TelegramNotifier, http_server: HttpServer
    ) -> None:
        """400 chat not found is not retried; the token (in the path) is not in the error."""
        http_server.default = Reply.json(
            {"ok": False, "error_code": 400, "description": f"Bad Request: chat not found {TOKEN}"},
            400,
        )
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="telegram:42"))
        assert caught.value.retryable is False
        assert caught.value.message.startswith("telegram sendMessage to 42: HTTP 400 ")
        assert "chat not found" in caught.value.message
        assert TOKEN not in caught.value.message
