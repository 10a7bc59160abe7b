"""Specifications of /metrics content negotiation: OpenMetrics only when the scraper prefers it."""

from __future__ import annotations

import pytest

from monitor.telemetry.exposition import OPENMETRICS, TEXT, Format, negotiate

PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


class TestNegotiate:
    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            (PROMETHEUS_2, OPENMETRICS),
            (PROMETHEUS_3, OPENMETRICS),
            ("application/openmetrics-text", OPENMETRICS),
            ("Application/OpenMetrics-Text; Version=1.0.0", OPENMETRICS),
            (None, TEXT),
            ("", TEXT),
            ("text/plain;version=0.0.4", TEXT),
            ("*/*", TEXT),
            ("application/json", TEXT),
            ("application/openmetrics-text;version=0.0.1", TEXT),
            ("application/openmetrics-text;version=abc", TEXT),
            ("application/openmetrics-text;q=0, text/plain", TEXT),
            ("text/plain;q=0.9, application/openmetrics-text;q=0.5", TEXT),
            ("application/openmetrics-text;q=oops, text/plain;q=0.1", TEXT),
            ("application/openmetrics-text;q=7", TEXT),
            (";;,,;=;q=", TEXT),
        ],
        ids=[
            "prometheus-2", "prometheus-3", "no-version", "case-insensitive", "no-header",
            "empty", "text", "anything", "unsupported-type", "openmetrics-0.0.1",
            "malformed-version", "q-zero-refuses", "text-preferred", "unreadable-q",
            "q-out-of-range", "garbage",
        ],
    )  # fmt: skip
    def test_the_format_the_accept_header_prefers(
        self, accept: str | None, expected: Format
    ) -> None:
        """OpenMetrics 1.0.0 when it has the highest q; text otherwise, never an exception."""
        assert negotiate(accept) is expected
