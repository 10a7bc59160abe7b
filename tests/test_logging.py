"""Specifications of smokewatch's logs: JSON lines off a TTY, secrets masked, no locals."""

from __future__ import annotations

import io
import json

from monitor.logging import make_logger
from monitor.redact import Redactor


def fail_with_a_secret_local() -> None:
    password = "hunter2-local-secret"  # the value the log must not show
    raise ValueError(f"login failed for {password[:0]}user")


class TestLogs:
    def test_events_are_json_lines_with_secrets_masked(self) -> None:
        """Off a TTY each event is one JSON object; a known secret value becomes ***."""
        stream = io.StringIO()
        log = make_logger(Redactor(["tok-123456"]), stream=stream)
        log.info("check.done", check="api", url="https://x.example/?token=abc", note="tok-123456")
        (event,) = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert event["event"] == "check.done"
        assert event["level"] == "info"
        assert event["note"] == "***"
        assert event["url"] == "https://x.example/?token=***"

    def test_tracebacks_carry_no_local_variables(self) -> None:
        """An exception is logged with its frames, never the values of their locals."""
        stream = io.StringIO()
        log = make_logger(Redactor(), stream=stream)
        try:
            fail_with_a_secret_local()
        except ValueError:
            log.exception("probe.crashed")
        text = stream.getvalue()
        assert "fail_with_a_secret_local" in text
        assert "hunter2-local-secret" not in text

    def test_the_level_filters_events(self) -> None:
        """At level warning, info events are dropped."""
        stream = io.StringIO()
        log = make_logger(Redactor(), level="warning", stream=stream)
        log.info("quiet")
        log.warning("loud")
        assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["loud"]
