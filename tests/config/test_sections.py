"""Specifications of the optional sections (``telemetry``, ``alerting``, ``artifacts``):
a config that does not write one holds its defaults, read the same way as a written one,
and loading it never builds that section's models."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.alerting import AlertingSettings
from monitor.config.artifacts import ArtifactSettings
from monitor.config.root import SmokewatchConfig, config_model
from monitor.config.telemetry import TelemetrySettings
from monitor.errors import ConfigError

CHECK = 'checks:\n  - {name: api, kind: http, url: "https://example.com/api"}\n'
SECTIONS = {
    "telemetry": TelemetrySettings,
    "alerting": AlertingSettings,
    "artifacts": ArtifactSettings,
}


def _load(tmp_path: Path, text: str) -> SmokewatchConfig:
    path = tmp_path / "smokewatch.yaml"
    path.write_text("alert_rules: null\n" + textwrap.dedent(text) + CHECK)
    return load_config(path, env={}).config


class TestUnwrittenSections:
    @pytest.mark.parametrize("name", list(SECTIONS))
    def test_an_unwritten_section_reads_as_its_defaults(self, tmp_path: Path, name: str) -> None:
        """Leaving a section out means its defaults: the attribute is the default model,
        the same object on every read, and given() says it was not written."""
        config = _load(tmp_path, "")
        section = getattr(config, name)
        assert section == SECTIONS[name]()
        assert getattr(config, name) is section
        assert not config.given(name)
        assert name not in type(config).model_fields

    def test_a_written_section_holds_what_was_written(self, tmp_path: Path) -> None:
        """A written section is a field like any other; the others still read as defaults."""
        config = _load(tmp_path, "telemetry:\n  prometheus: {buckets: [0.5, 1]}\n")
        assert config.given("telemetry")
        assert config.telemetry.prometheus.buckets == (0.5, 1.0)
        assert TelemetrySettings().prometheus.buckets != (0.5, 1.0)  # the check can tell
        assert not config.given("alerting")
        assert config.alerting == AlertingSettings()

    def test_an_empty_section_equals_the_unwritten_one(self, tmp_path: Path) -> None:
        """`alerting: {}` and no `alerting:` give equal settings."""
        written = _load(tmp_path, "alerting: {}\n")
        assert written.given("alerting")
        assert written.alerting == _load(tmp_path, "").alerting

    def test_an_error_in_a_written_section_names_its_line_and_field(self, tmp_path: Path) -> None:
        """A built-on-demand section is validated like the others: file, line, field."""
        with pytest.raises(ConfigError) as caught:
            _load(tmp_path, "version: 1\nartifacts:\n  backend: ftp\n")
        (problem,) = caught.value.problems
        assert problem.line == 4  # alert_rules: null comes first
        assert problem.field == "artifacts.backend"

    def test_a_copy_can_set_an_unwritten_section(self, tmp_path: Path) -> None:
        """model_copy(update=...) of a section the file left out gives the copy that value
        (the demo and tests replace sections this way)."""
        config = _load(tmp_path, "")
        alerting = AlertingSettings(enabled=False)
        copied = config.model_copy(update={"alerting": alerting})
        assert copied.alerting is alerting
        assert config.alerting.enabled is True

    def test_an_unknown_attribute_is_still_an_attribute_error(self, tmp_path: Path) -> None:
        """Only the optional sections fall back to defaults."""
        config = _load(tmp_path, "")
        with pytest.raises(AttributeError):
            _ = config.telemetri  # type: ignore[attr-defined]


class TestFullModel:
    def test_the_full_model_and_its_schema_have_every_section(self) -> None:
        """config_model() (the JSON Schema's) holds every optional section, with its
        description and defaults, as before the sections were built on demand."""
        model = config_model()
        for name, settings in SECTIONS.items():
            assert model.model_fields[name].description
            assert model.model_fields[name].default == settings()
        properties = model.model_json_schema(mode="validation", by_alias=True)["properties"]
        assert set(SECTIONS) <= set(properties)
