"""Specifications of the per-run lookups a config answers without scanning its checks:
a check by name, the positions, the enabled control checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.root import SmokewatchConfig

CHECKS = """
checks:
  - {name: api, kind: http, url: "https://example.com/api"}
  - {name: net, kind: http, url: "https://example.com/", control: true}
  - {name: off, kind: http, url: "https://example.com/", control: true, enabled: false}
  - {name: page, kind: http, url: "https://example.com/page"}
"""


@pytest.fixture
def config(tmp_path: Path) -> SmokewatchConfig:
    path = tmp_path / "smokewatch.yaml"
    path.write_text(textwrap.dedent(CHECKS))
    return load_config(path, env={}).config


class TestLookups:
    def test_checks_by_name_and_position(self, config: SmokewatchConfig) -> None:
        """check(name) is the named check; positions give each name's index; an unknown
        name is a KeyError."""
        assert config.check("page") is config.checks[3]
        assert dict(config.positions) == {"api": 0, "net": 1, "off": 2, "page": 3}
        with pytest.raises(KeyError):
            config.check("nope")

    def test_controls_are_the_enabled_control_checks(self, config: SmokewatchConfig) -> None:
        """A disabled control check vouches for nothing."""
        assert [c.name for c in config.controls] == ["net"]

    def test_a_copy_with_other_checks_answers_for_its_own(self, config: SmokewatchConfig) -> None:
        """model_copy carries what the original looked up; the copy's answers follow its
        own checks (the demo replaces every check this way)."""
        assert config.check("page").name == "page"  # looked up once before copying
        copied = config.model_copy(update={"checks": config.checks[:2]})
        assert dict(copied.positions) == {"api": 0, "net": 1}
        with pytest.raises(KeyError):
            copied.check("page")
        again = copied.model_copy(update={"checks": (config.checks[0],)})
        assert again.controls == ()
        assert [c.name for c in config.controls] == ["net"]

    def test_lookups_leave_equality_and_dumps_alone(
        self, config: SmokewatchConfig, tmp_path: Path
    ) -> None:
        """A config that answered lookups equals one that did not, and dumps the same."""
        path = tmp_path / "again.yaml"
        path.write_text(textwrap.dedent(CHECKS))
        fresh = load_config(path, env={}).config
        config.check("api")
        assert config == fresh
        assert config.model_dump() == fresh.model_dump()
