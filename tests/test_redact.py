"""Specifications of the redactor's memory of texts it masked (monitor.redact)."""

from __future__ import annotations

import pytest

from monitor.redact import MASK, Redactor

SECRET = "s3cr3t-value-42"


class TestRememberedTexts:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            (f"token {SECRET} rejected", f"token {MASK} rejected"),
            ("https://ann:pw123@example.com/x", f"https://ann:{MASK}@example.com/x"),
            ("GET /login?password=hunter2&page=1", f"GET /login?password={MASK}&page=1"),
            ('{"access_token": "abc"}', f'{{"access_token": "{MASK}"}}'),
            ("2026-12-04T16:33:00.123456Z", "2026-12-04T16:33:00.123456Z"),
            ("all 3 assertions passed", "all 3 assertions passed"),
        ],
        ids=["secret", "url-userinfo", "query-pair", "json-field", "timestamp", "plain"],
    )
    def test_a_text_seen_again_is_masked_the_same(self, text: str, shown: str) -> None:
        """The second redaction of a text (from memory) gives what the first gave."""
        redactor = Redactor([SECRET])
        assert [redactor.text(text), redactor.text(text)] == [shown, shown]

    def test_a_redactor_told_a_new_secret_does_not_reuse_its_parents_memory(self) -> None:
        """A text let through before a secret was known is masked by the redactor that knows it."""
        parent = Redactor()
        text = f"echoed {SECRET}"
        assert parent.text(text) == text
        assert parent.with_secrets([SECRET]).text(text) == f"echoed {MASK}"

    @pytest.mark.parametrize(
        "filler",
        [3_000, 0],
        ids=["after-the-memory-filled-up", "fresh"],
    )
    def test_secrets_are_masked_whatever_the_memory_holds(self, filler: int) -> None:
        """Long texts (never remembered) and texts met after the memory was cleared are masked."""
        redactor = Redactor([SECRET])
        for n in range(filler):
            redactor.text(f"check c{n:05d} passed")
        long_text = "x" * 500 + SECRET
        assert redactor.text(long_text) == "x" * 500 + MASK
        assert redactor.text(f"got {SECRET}") == f"got {MASK}"
        assert redactor.data({"message": f"got {SECRET}", "password": "p"}) == {
            "message": f"got {MASK}",
            "password": MASK,
        }
