"""apprise: the real apprise library delivering to a loopback ``json://`` receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.alerting.notification import DeliveryError
from monitor.alerting.notifiers.apprise import AppriseNotifier
from monitor.config.channel_settings import AppriseSettings
from tests.alerting.notifiers.samples import PLAIN_LINES, failing, sample
from tests.alerting.notifiers.servers import HttpServer, Reply

PATH = "/hooks/apprise-5ecret-path"


def settings(server: HttpServer, **more: Any) -> AppriseSettings:
    url = f"json://{server.url.removeprefix('http://')}{PATH}"
    return AppriseSettings.model_validate({"urls": [url], **more})


@pytest.fixture
async def notifier(http_server: HttpServer, log: Any) -> AsyncIterator[AppriseNotifier]:
    notifier = AppriseNotifier({"phones": settings(http_server)}, log=log)
    yield notifier
    await notifier.close()


class TestDelivery:
    """What apprise's JSON service posts."""

    async def test_firing_body_field_by_field(
        self, notifier: AppriseNotifier, http_server: HttpServer
    ) -> None:
        """Title, failure type, and a body with facts, reason, evidence and links."""
        await notifier.send(failing(target="apprise:phones"))
        (request,) = http_server.received
        assert request.path == PATH
        body = request.json()
        assert body["title"] == "FIRING: smoke_test_failure (critical)"
        assert body["type"] == "failure"
        assert body["message"].splitlines() == PLAIN_LINES

    @pytest.mark.parametrize(
        ("kind", "severity", "kind_type"),
        [("resolved", "critical", "success"), ("firing", "warning", "warning"),
         ("firing", "info", "info")],
        ids=["resolved", "warning", "info"],
    )  # fmt: skip
    async def test_type_follows_the_alert(
        self,
        notifier: AppriseNotifier,
        http_server: HttpServer,
        kind: Any,
        severity: Any,
        kind_type: str,
    ) -> None:
        """Resolved is apprise's success; otherwise the severity picks the type."""
        await notifier.send(sample(target="apprise:phones", kind=kind, severity=severity))
        assert http_server.received[0].json()["type"] == kind_type


class TestFailures:
    """apprise's outcomes mapped onto retryable or final errors, without the URL."""

    @pytest.mark.parametrize(
        ("reply", "retryable"),
        [(Reply(500, b"boom"), True), (Reply(503, b""), True), (Reply(429, b""), True),
         (Reply(404, b"gone"), False), (Reply(401, b""), False)],
        ids=["500", "503", "429", "404", "401"],
    )  # fmt: skip
    async def test_status_decides_retry(
        self, notifier: AppriseNotifier, http_server: HttpServer, reply: Reply, retryable: bool
    ) -> None:
        """5xx and 429 are retried, other 4xx are final; the URL is never in the message."""
        http_server.default = reply
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="apprise:phones"))
        assert caught.value.retryable is retryable
        assert caught.value.message == "apprise 'phones': failure, 1 of 1 services failed (JSON)"
        assert "5ecret" not in str(caught.value)

    async def test_hanging_service_times_out_retryable(
        self, http_server: HttpServer, log: Any
    ) -> None:
        """A receiver that never answers is cut off at the entry's timeout."""
        http_server.default = Reply(hang=True)
        notifier = AppriseNotifier({"phones": settings(http_server, timeout="1s")}, log=log)
        started = datetime.now(UTC)
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="apprise:phones"))
        assert caught.value.retryable is True
        assert datetime.now(UTC) - started < timedelta(seconds=5)
        assert "5ecret" not in str(caught.value)

    async def test_unknown_entry_sends_nothing(
        self, notifier: AppriseNotifier, http_server: HttpServer
    ) -> None:
        """A target naming no configured entry is final."""
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(sample(target="apprise:pagers"))
        assert caught.value.message == "apprise 'pagers' is not configured"
        assert caught.value.retryable is False
        assert http_server.received == []


class TestSettings:
    """URLs apprise cannot use are refused at load time, without quoting them."""

    @pytest.mark.parametrize(
        "url", ["nope://host/5ecret", "json://", "5ecret"], ids=["scheme", "no-host", "bare"]
    )
    def test_unusable_url_is_refused(self, url: str) -> None:
        """The error names the list item, never its (secret) text."""
        with pytest.raises(ValidationError) as caught:
            AppriseSettings.model_validate({"urls": ["json://127.0.0.1/ok", url]})
        (error,) = caught.value.errors(include_input=False)
        assert "urls[1] is not a URL apprise supports" in error["msg"]
        assert "5ecret" not in error["msg"]

    def test_at_least_one_url(self) -> None:
        """An entry without URLs reaches nobody."""
        with pytest.raises(ValidationError, match="at least 1 item"):
            AppriseSettings.model_validate({"urls": []})
