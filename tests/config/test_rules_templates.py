"""Specifications of rendering a rule's annotations for one alert (what the engine sends)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.alerting.templating import render_annotations
from monitor.config.rules import AlertRule
from monitor.config.templates import format_value


def rule(condition: str = "smoke_test.success < 0.9", **fields: Any) -> AlertRule:
    return AlertRule.model_validate({"name": "r", "condition": condition, **fields})


class TestRenderAnnotations:
    def test_the_default_summary(self) -> None:
        """Without a summary of its own, an alert says rule, check, regions, condition, value."""
        rendered = render_annotations(rule(), check="homepage", region="eu", value=0.5)
        assert rendered == {"summary": "r: homepage in eu: smoke_test.success < 0.9 (now 0.50)"}

    def test_the_rules_templates_with_every_variable(self) -> None:
        """Each variable is the alert's: regions listed, value and threshold, labels merged."""
        annotations = {
            "summary": "{{ check }} down in {{ regions | join(' and ') }} ({{ region }})",
            "detail": "{{ rule }}/{{ severity }}: {{ value }} vs {{ threshold }} "
            "({{ value_text }} vs {{ threshold_text }}; {{ condition }})",
            "labels": "{{ labels.team }} {{ labels.check }} {{ labels.alertname }}",
            "runbook_url": "https://runbooks.example.com/{{ rule }}",
        }
        r = rule(severity="critical", labels={"team": "web"}, annotations=annotations)
        rendered = render_annotations(r, check="homepage", regions=["eu", "us"], value=0.25)
        assert rendered == {
            "summary": "homepage down in eu and us (eu, us)",
            "detail": "r/critical: 0.25 vs 0.9 (0.25 vs 0.90; smoke_test.success < 0.9)",
            "labels": "web homepage r",
            "runbook_url": "https://runbooks.example.com/r",
        }

    def test_no_data(self) -> None:
        """A no-data alert has value None, shown as 'no data'."""
        rendered = render_annotations(rule(), check="api", region="us", value=None)
        assert rendered["summary"].endswith("(now no data)")

    def test_a_failing_template_still_gives_text(self) -> None:
        """A template that fails at run time renders as its source: the alert still goes out."""
        r = rule(annotations={"summary": "{{ value | round(1) }} for {{ check }}"})
        rendered = render_annotations(r, check="api", region="us", value=None)
        assert rendered == {"summary": "{{ value | round(1) }} for {{ check }}"}

    def test_a_failing_template_is_reported(self) -> None:
        """The failure goes to ``on_error`` with the annotation's name, so it is logged."""
        r = rule(annotations={"summary": "{{ value | round(1) }}", "detail": "{{ check }}"})
        failures: list[tuple[str, str]] = []
        rendered = render_annotations(
            r,
            check="api",
            region="us",
            value=None,
            on_error=lambda key, exc: failures.append((key, type(exc).__name__)),
        )
        assert (rendered["detail"], failures) == ("api", [("summary", "TypeError")])

    def test_nothing_is_html_escaped(self) -> None:
        """Channels escape for their own format; templates render plain text."""
        r = rule(annotations={"summary": "{{ check }} <b>&</b>"})
        rendered = render_annotations(r, check="a&b", region="eu", value=1.0)
        assert rendered["summary"] == "a&b <b>&</b>"


class TestFormatValue:
    @pytest.mark.parametrize(
        ("condition", "value", "text"),
        [
            ("smoke_test.success < 0.9", 0.854, "0.85"),
            ("count(smoke_test.success) < 3", 2.0, "2"),
            ("smoke_test.api_response > 500", 0.7341, "734 ms"),
            ("p95(smoke_test.duration) > 20s", 31.25, "31.2 s"),
            ("smoke_test.api_response > 500", None, "no data"),
        ],
        ids=["ratio", "count", "milliseconds", "seconds", "no-data"],
    )
    def test_values_in_the_conditions_units(
        self, condition: str, value: float | None, text: str
    ) -> None:
        """Ratios with two decimals, counts whole, timings in ms (s from 10 s up)."""
        assert format_value(rule(condition), value) == text
