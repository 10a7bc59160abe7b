"""Discord: embeds posted to a loopback server standing in for a channel webhook, field by field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.discord import DiscordNotifier, message
from monitor.config.channel_settings import DiscordSettings
from tests.alerting.notifiers.samples import ARTIFACT, RUNBOOK, STATUS_PAGE, failing, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

TOKEN = "discord-hook-token-5ecret"
HEADLINE = "api-test succeeds 50% of the time in eu-west-1"


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[DiscordNotifier]:
    hook = DiscordSettings.model_validate(
        {"url": f"{http_server.url}/api/webhooks/123/{TOKEN}", "username": "smoke"}
    )
    http_server.default = Reply(204, b"")
    notifier = DiscordNotifier({"ops": hook}, log=log)
    yield notifier
    await notifier.close()


def fields(embed: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["name"], f["value"]) for f in embed["fields"]]


class TestEmbeds:
    """What the Discord channel receives."""

    async def test_firing_message_field_by_field(
        self, notifier: DiscordNotifier, http_server: HttpServer
    ) -> None:
        """Content line, a red embed with the facts, reason and links, and an evidence embed."""
        await notifier.send(failing(target="discord:ops"))
        (request,) = http_server.received
        assert request.path == f"/api/webhooks/123/{TOKEN}"
        body = request.json()
        assert body["username"] == "smoke"
        assert body["content"] == f"FIRING: smoke_test_failure (critical): {HEADLINE}"
        assert body["allowed_mentions"] == {"parse": []}
        main, region = body["embeds"]
        assert main["title"] == "FIRING: smoke_test_failure (critical)"
        assert main["description"] == HEADLINE
        assert main["color"] == 0xE01E5A
        assert main["url"] == RUNBOOK
        assert main["timestamp"] == "2026-03-04T05:11:07Z"
        assert main["footer"]["text"].startswith("smokewatch · alert ")
        assert fields(main) == [
            ("Severity", "critical"),
            ("Check", "api-test"),
            ("Regions", "eu-west-1"),
            ("Value", "0.5 (threshold < 0.9)"),
            ("Condition", "smoke_test.success < 0.9"),
            ("Since", "2026-03-04 05:06:07 UTC"),
            ("Reason", "timeout"),
            ("Links", f"[Runbook]({RUNBOOK}) · [Status page]({STATUS_PAGE})"),
        ]
        assert region["title"] == "eu-west-1: fail (timeout) at 2026-03-04 05:10:30 UTC"
        assert fields(region) == [
            ("Result", "timed out after 5 s"),
            ("Attempts (2)", "#1 fail in 5000 ms, then waited 1 s; #2 fail in 5001 ms"),
            ("Failed", "json $.ok: expected true, got false"),
            ("Timings", "total 5001 ms (usual 42 ms)"),
            ("Artifacts", f"[response.txt]({ARTIFACT})"),
        ]

    async def test_resolved_is_a_green_follow_up(
        self, notifier: DiscordNotifier, http_server: HttpServer
    ) -> None:
        """Resolved posts a green embed with the resolved time and no reason."""
        await notifier.send(failing(target="discord:ops", kind="resolved"))
        main = http_server.received[0].json()["embeds"][0]
        assert main["title"] == "RESOLVED: smoke_test_failure (critical)"
        assert main["color"] == 0x2EB67D
        assert ("Resolved", "2026-03-04 05:11:07 UTC") in fields(main)
        assert "Reason" not in dict(fields(main))

    def test_limits_hold_for_many_regions(self) -> None:
        """At most 10 embeds and 1024 characters a field, whatever the evidence."""
        many = tuple(
            {"region": f"r{i}", "status": "fail", "message": "x" * 5000} for i in range(30)
        )
        out = message(sample(evidence=many))
        assert len(out["embeds"]) == 10
        assert all(len(f["value"]) <= 1024 for e in out["embeds"] for f in e["fields"])


class TestFailures:
    """Discord's own answers (the status table is in test_failures.py)."""

    async def test_rate_limit_is_retried_after_the_given_wait(
        self, notifier: DiscordNotifier, http_server: HttpServer
    ) -> None:
        """429 with Retry-After (Discord's rate limit) is retryable after that many seconds."""
        http_server.default = Reply.json(
            {"message": "You are being rate limited.", "retry_after": 2.5}, 429,
            **{"Retry-After": "3"},
        )  # fmt: skip
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="discord:ops"))
        assert caught.value.retryable is True
        assert caught.value.retry_after_s == 3.0

    async def test_deleted_webhook_is_final_and_hides_the_token(
        self, notifier: DiscordNotifier, http_server: HttpServer
    ) -> None:
        """404 Unknown Webhook is not retried; the token is not in the error."""
        http_server.default = Reply.json({"message": "Unknown Webhook", "code": 10015}, 404)
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="discord:ops"))
        assert caught.value.retryable is False
        assert caught.value.message.startswith("discord 'ops': HTTP 404 ")
        assert "Unknown Webhook" in caught.value.message
        assert TOKEN not in caught.value.message
