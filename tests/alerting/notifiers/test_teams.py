"""Microsoft Teams: an Adaptive Card posted to a loopback server standing in for a Workflows
webhook, checked field by field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.teams import TeamsNotifier
from monitor.config.channel_settings import TeamsSettings
from tests.alerting.notifiers.samples import ARTIFACT, RUNBOOK, STATUS_PAGE, failing, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

SIG = "sig-5ecret-0123456789"
HEADLINE = "api-test succeeds 50% of the time in eu-west-1"


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[TeamsNotifier]:
    hook = TeamsSettings.model_validate(
        {"url": f"{http_server.url}/workflows/abc/triggers/manual/run?api-version=1&sig={SIG}"}
    )
    http_server.default = Reply(202, b"")
    notifier = TeamsNotifier({"ops": hook}, log=log)
    yield notifier
    await notifier.close()


def text(block: dict[str, Any]) -> str:
    return str(block["text"])


class TestCard:
    """What the Teams channel receives."""

    async def test_firing_card_field_by_field(
        self, notifier: TeamsNotifier, http_server: HttpServer
    ) -> None:
        """One Adaptive Card: coloured title, summary, facts with value vs threshold and the
        reason, the region's evidence with its artifact link, runbook and status page buttons."""
        await notifier.send(failing(target="teams:ops"))
        (request,) = http_server.received
        assert request.path.startswith("/workflows/abc/triggers/manual/run?")
        assert request.headers["content-type"] == "application/json"
        body = request.json()
        assert body["type"] == "message"
        (attachment,) = body["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["version"] == "1.4"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        title, summary, facts, heading, details, artifacts, footer = card["body"]
        assert title == {
            "type": "TextBlock",
            "text": "FIRING: smoke_test_failure (critical)",
            "wrap": True,
            "size": "Large",
            "weight": "Bolder",
            "color": "attention",
        }
        assert text(summary) == HEADLINE
        assert facts["type"] == "FactSet"
        assert [(f["title"], f["value"]) for f in facts["facts"]] == [
            ("Severity", "critical"),
            ("Check", "api-test"),
            ("Regions", "eu-west-1"),
            ("Value", "0.5 (threshold < 0.9)"),
            ("Condition", "smoke_test.success < 0.9"),
            ("Since", "2026-03-04 05:06:07 UTC"),
            ("Reason", "timeout"),
        ]
        assert text(heading) == "eu-west-1: fail (timeout) at 2026-03-04 05:10:30 UTC"
        assert {f["title"]: f["value"] for f in details["facts"]} == {
            "Result": "timed out after 5 s",
            "Attempts (2)": "#1 fail in 5000 ms, then waited 1 s; #2 fail in 5001 ms",
            "Failed": "json $.ok: expected true, got false",
            "Timings": "total 5001 ms (usual 42 ms)",
        }
        assert text(artifacts) == f"[response.txt]({ARTIFACT})"
        assert text(footer).startswith("smokewatch · alert ")
        assert card["actions"] == [
            {"type": "Action.OpenUrl", "title": "Runbook", "url": RUNBOOK},
            {"type": "Action.OpenUrl", "title": "Status page", "url": STATUS_PAGE},
        ]

    async def test_resolved_is_a_green_follow_up(
        self, notifier: TeamsNotifier, http_server: HttpServer
    ) -> None:
        """Resolved posts a second card: green title, the resolved time, no failure reason."""
        await notifier.send(failing(target="teams:ops", kind="resolved"))
        card = http_server.received[0].json()["attachments"][0]["content"]
        title, facts = card["body"][0], card["body"][2]
        assert (title["text"], title["color"]) == (
            "RESOLVED: smoke_test_failure (critical)",
            "good",
        )
        rows = {f["title"]: f["value"] for f in facts["facts"]}
        assert rows["Resolved"] == "2026-03-04 05:11:07 UTC"
        assert "Reason" not in rows

    @pytest.mark.parametrize(
        ("severity", "colour"),
        [("critical", "attention"), ("warning", "warning"), ("info", "accent")],
        ids=["critical", "warning", "info"],
    )
    async def test_title_colour_follows_severity(
        self, notifier: TeamsNotifier, http_server: HttpServer, severity: Any, colour: str
    ) -> None:
        """Each severity has its Adaptive Card colour."""
        await notifier.send(sample(target="teams:ops", severity=severity))
        card = http_server.received[0].json()["attachments"][0]["content"]
        assert card["body"][0]["color"] == colour


class TestFailures:
    """Teams' own answers (the status table is in test_failures.py)."""

    async def test_deleted_flow_is_final_and_hides_the_signature(
        self, notifier: TeamsNotifier, http_server: HttpServer
    ) -> None:
        """404 (the flow was deleted) is not retried; the error names the hook, not its URL."""
        http_server.default = Reply(404, f"no flow for sig={SIG}".encode())
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="teams:ops"))
        assert caught.value.retryable is False
        assert caught.value.message.startswith("teams 'ops': HTTP 404 ")
        assert SIG not in caught.value.message

    async def test_unknown_hook_sends_nothing(
        self, notifier: TeamsNotifier, http_server: HttpServer
    ) -> None:
        """A target naming no configured hook is final and posts nothing."""
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="teams:other"))
        assert caught.value.message == "teams 'other' is not configured"
        assert caught.value.retryable is False
        assert http_server.received == []
