"""Specification of durations as people write them in smokewatch.yaml and alert-rules.yaml."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.config.durations import parse_duration


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30s", timedelta(seconds=30)),
            ("1h30m", timedelta(hours=1, minutes=30)),
            ("5 minutes", timedelta(minutes=5)),
            ("250ms", timedelta(milliseconds=250)),
            ("90d", timedelta(days=90)),
            ("45", timedelta(seconds=45)),
            (1.5, timedelta(seconds=1.5)),
        ],
        ids=["seconds", "compound", "words", "millis", "days", "bare-string", "number"],
    )
    def test_accepted_forms(self, text: object, expected: timedelta) -> None:
        """Units, compounds, words and bare numbers of seconds all parse."""
        assert parse_duration(text) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("soon", "invalid duration 'soon'"),
            ("5 fortnights", "unknown unit 'fortnights'"),
            (-1, "cannot be negative"),
            (True, "expected e.g."),
            ("99999999999999999999", "is too long"),
        ],
        ids=["word", "unknown-unit", "negative", "bool", "overflow"],
    )
    def test_rejected_with_a_message(self, text: object, message: str) -> None:
        """Anything else is a ValueError (never an OverflowError) that says what was wrong."""
        with pytest.raises(ValueError, match=message):
            parse_duration(text)
