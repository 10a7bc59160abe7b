"""``probes.retry``: the one ``Retry-After`` parser and the one exponential backoff.

Probes, the rate gate, the notifiers and the New Relic exporter all use these; a
source scan shows no other module parses an HTTP date for a retry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.retry import backoff_s, parse_retry_after

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)


class TestParseRetryAfter:
    """``Retry-After`` is delay-seconds or an HTTP date; anything else is no answer."""

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("7", 7.0),
            (" 120 ", 120.0),
            ("1.5", 1.5),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
            ("Wed, 21 Oct 2015 07:28:00 -0000", 60.0),
            ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
            ("soon", None),
            ("-5", None),
            ("1.2.3", None),
            ("", None),
            (None, None),
        ],
        ids=[
            "seconds",
            "padded",
            "fraction",
            "http-date",
            "date-without-zone-is-utc",
            "past-date-is-zero",
            "garbage",
            "negative",
            "two-dots",
            "empty",
            "absent",
        ],
    )
    def test_reads_seconds_or_a_date(self, value: str | None, seconds: float | None) -> None:
        """Each form gives the seconds to wait from ``now``, never negative."""
        assert parse_retry_after(value, now=NOW) == seconds

    def test_it_is_the_only_parser(self) -> None:
        """No other module of monitor/ or probes/ parses an HTTP date itself."""
        others = [
            str(path.relative_to(ROOT))
            for top in ("monitor", "probes")
            for path in (ROOT / top).rglob("*.py")
            if "parsedate" in path.read_text(encoding="utf-8") and path.name != "retry.py"
        ]
        assert others == []


class TestBackoff:
    """``initial * factor**(n-1)`` after failed attempt n, at most the cap."""

    @pytest.mark.parametrize(
        ("initial", "factor", "attempt", "cap", "seconds"),
        [
            (1.0, 2.0, 1, 30.0, 1.0),
            (1.0, 2.0, 2, 30.0, 2.0),
            (1.0, 2.0, 5, 30.0, 16.0),
            (1.0, 2.0, 6, 30.0, 30.0),
            (5.0, 1.0, 4, 600.0, 5.0),
            (0.5, 2.0, 0, 600.0, 0.5),
        ],
        ids=["first", "second", "fifth", "capped", "factor-one", "attempt-zero-is-first"],
    )
    def test_delay(
        self, initial: float, factor: float, attempt: int, cap: float, seconds: float
    ) -> None:
        """The delay grows by ``factor`` per failed attempt until the cap holds it."""
        assert backoff_s(initial, factor, attempt, cap) == seconds

    def test_uncapped_by_default(self) -> None:
        """Without a cap the delay keeps growing (callers bound it by their deadline)."""
        assert backoff_s(0.5, 2.0, 11) == 512.0
