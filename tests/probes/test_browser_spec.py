"""Specification of the browser check's config, the Chromium search, and artifact retention."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError

from probes.browser import BrowserSpec
from probes.browser_artifacts import ArtifactStore, scrub_zip
from probes.browser_pool import BrowserUnavailableError, find_chromium
from probes.browser_steps import AllowedWrite, ClickStep, FillStep, GotoStep

URL = "https://app.example.com/"


def spec(**fields: Any) -> BrowserSpec:
    return BrowserSpec.model_validate({"url": URL, **fields})


class TestSpec:
    def test_steps_are_named_by_their_action(self) -> None:
        """Each step mapping becomes the model of the one action it names."""
        parsed = spec(
            steps=[
                {"goto": "/login"},
                {"fill": "#password", "value": "hunter22"},
                {"click": "#submit", "allow_write": ["POST /login"]},
            ]
        )
        assert [type(s) for s in parsed.steps] == [GotoStep, FillStep, ClickStep]
        assert cast(ClickStep, parsed.steps[2]).allow_write == (
            AllowedWrite(method="POST", url="/login"),
        )

    def test_a_fill_value_is_secret(self) -> None:
        """A fill value never shows in the spec's repr, and counts among its secrets."""
        parsed = spec(steps=[{"fill": "#password", "value": "hunter22"}])
        assert "hunter22" not in repr(parsed)
        assert parsed.secrets() == ["hunter22"]

    @pytest.mark.parametrize(
        ("fields", "words"),
        [
            ({"steps": [{"goto": "/", "click": "#a"}]}, "exactly one action"),
            ({"steps": [{"press": "Enter"}]}, "exactly one action"),
            ({"steps": [{"click": "#a", "allow_write": ["/login"]}]}, "METHOD URL"),
            ({"steps": [{"click": "#a", "allow_write": ["GET /login"]}]}, "POST"),
            ({"steps": [{"expect_visible": "#a", "allow_write": ["POST /x"]}]}, "Extra inputs"),
            ({"steps": [{"expect_url": "("}]}, "invalid regex"),
            ({"ignore_console": ["["]}, "invalid regex"),
            ({"budgets": {"degraded_ms": 3000, "fail_ms": 1000}}, "less than fail_ms"),
            ({"screenshots": True}, "Extra inputs"),
        ],
        ids=[
            "two-actions",
            "unknown-action",
            "write-without-method",
            "get-is-no-write",
            "expect-cannot-write",
            "bad-url-regex",
            "bad-console-regex",
            "budgets-out-of-order",
            "typo",
        ],
    )
    def test_invalid_config_is_rejected_with_a_reason(
        self, fields: dict[str, Any], words: str
    ) -> None:
        """A wrong step, pattern or budget fails validation, saying what is wrong."""
        with pytest.raises(ValidationError, match=words):
            spec(**fields)


class TestAllowedWrite:
    @pytest.mark.parametrize(
        ("rule", "method", "url", "allowed"),
        [
            ("POST /login", "POST", "https://app.example.com/login?next=/", True),
            ("POST /login", "PUT", "https://app.example.com/login", False),
            ("POST /login", "POST", "https://evil.example.net/login", False),
            ("POST /api/*", "POST", "https://app.example.com/api/track", True),
            ("POST https://auth.example.com/*", "POST", "https://auth.example.com/token", True),
        ],
        ids=["same-origin-path", "other-method", "other-origin", "glob", "full-url"],
    )
    def test_a_rule_matches_method_and_url(
        self, rule: str, method: str, url: str, allowed: bool
    ) -> None:
        """A path rule allows only the check's own origin; a full-URL rule names its origin."""
        parsed = AllowedWrite.model_validate(rule)
        assert parsed.matches(method, url, "https://app.example.com") is allowed


class TestFindChromium:
    @pytest.fixture
    def fake(self, tmp_path: Path) -> Path:
        exe = tmp_path / "chrome"
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        return exe

    def test_the_configured_path_comes_first(self, fake: Path) -> None:
        """An existing configured executable wins over everything else."""
        assert find_chromium(str(fake), "/usr/bin/true", ("/usr/bin/true",)) == str(fake)

    def test_playwrights_download_comes_before_the_system_one(self, fake: Path) -> None:
        """Without configuration, Playwright's own browser is used if it is on disk."""
        assert find_chromium(None, str(fake), ("/usr/bin/true",)) == str(fake)

    def test_a_missing_download_falls_back_to_the_system_chromium(self, fake: Path) -> None:
        """Playwright's path that is not on disk is skipped."""
        assert find_chromium(None, "/nonexistent/chrome", (str(fake),)) == str(fake)

    def test_nothing_found_says_how_to_install(self) -> None:
        """With no candidate, the error says how to get a browser."""
        with pytest.raises(BrowserUnavailableError, match="playwright install chromium"):
            find_chromium(None, None, ("/nonexistent/chromium",))


class TestArtifactStore:
    async def test_only_the_newest_failures_are_kept(self, tmp_path: Path) -> None:
        """Past ``keep`` failures, the oldest failure's files go first, as a pair."""
        store = ArtifactStore(tmp_path, keep=2)
        stems = [store.new_stem("home") for _ in range(3)]
        for age, stem in enumerate(reversed(stems)):
            for suffix in (".png", ".zip"):
                path = tmp_path / f"{stem.name}{suffix}"
                path.write_bytes(b"x")
                os.utime(path, (1_000_000 - age * 10, 1_000_000 - age * 10))
        deleted = await store.prune()
        assert sorted(p.name for p in deleted) == [f"{stems[0].name}.png", f"{stems[0].name}.zip"]
        assert len(list(os.listdir(tmp_path))) == 4

    def test_file_names_hold_only_the_check_name_a_timestamp_and_an_id(
        self, tmp_path: Path
    ) -> None:
        """Names come from the check name (made file-safe), never from page or config values."""
        stem = ArtifactStore(tmp_path).new_stem("ui.login/../x")
        assert stem.parent == tmp_path
        name, stamp, short = stem.name.rsplit("-", 2)
        assert name == "ui_login_x"
        assert stamp.endswith("Z")
        assert len(short) == 8

    def test_secrets_are_scrubbed_from_every_member_of_a_trace(self, tmp_path: Path) -> None:
        """Raw, URL-encoded and JSON-escaped forms of a secret are all masked."""
        source, target = tmp_path / "raw.zip", tmp_path / "clean.zip"
        with zipfile.ZipFile(source, "w") as archive:
            archive.writestr("trace.trace", '{"value":"p@ss w\\"rd"}')
            archive.writestr("trace.network", "email=a%40b&password=p%40ss+w%22rd")
        scrub_zip(source, target, ['p@ss w"rd'])
        with zipfile.ZipFile(target) as archive:
            assert archive.read("trace.trace") == b'{"value":"***"}'
            assert archive.read("trace.network") == b"email=a%40b&password=***"
