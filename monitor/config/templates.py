"""A rule's annotations (``summary``, ``runbook_url``...) as Jinja2 templates.

Templates run in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined` (a misspelt variable is an error, not an empty
string).  Their variables:

==================  ===========================================================
``rule``            the rule's name
``check``           the check's name
``region``          the region (with ``min_regions > 1``: the regions, joined)
``regions``         the regions that are bad, a list
``value``           the value in base units (ratio, seconds, count), ``None`` = no data
``value_text``      the value as people read it: ``0.85``, ``734 ms``, ``no data``
``threshold``       the condition's threshold in base units
``threshold_text``  the threshold as people read it
``condition``       the condition as written: ``smoke_test.success < 0.9``
``severity``        ``critical``, ``warning`` or ``info``
``labels``          the rule's labels + ``alertname``, ``rule``, ``severity``, ``check``, ``region``
``dependents``      the checks that ``depends_on`` this one (directly or not), a list: their
                    new alerts are inhibited while this one is active
``reason``          the failure reason of the newest failing run of each bad region
                    (README, "Failure reasons"), distinct ones joined by ", "; ``""`` if none
==================  ===========================================================

Every alert gets a ``summary``: the rule's own, or :data:`DEFAULT_SUMMARY`.  The
config loader calls :func:`template_problems` so a template that does not compile or
does not render with sample values stops the load; the engine renders them with
:func:`monitor.alerting.templating.render_annotations`.  Here, in the config package,
so that checking a config imports nothing of alerting (jinja2 itself is imported only
when a rule has templates to check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from monitor.config.rules import AlertRule

DEFAULT_SUMMARY = (
    "{{ rule }}: {{ check }} in {{ regions | join(', ') }}: {{ condition }} (now {{ value_text }})"
    "{% if dependents %}; dependent checks (alerts held): {{ dependents | join(', ') }}{% endif %}"
)
SAMPLE_CHECK, SAMPLE_REGION, SAMPLE_REASON = "example-check", "example-region", "timeout"


def environment() -> SandboxedEnvironment:
    """A fresh sandbox: no auto-escaping (channels escape for their own formats)."""
    # Imported here: a config without alert rules is validated without loading jinja2.
    from jinja2 import StrictUndefined  # noqa: PLC0415
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def sources(rule: AlertRule) -> dict[str, str]:
    """The rule's annotation templates, ``summary`` first (the default one if it has none)."""
    return {"summary": DEFAULT_SUMMARY, **rule.annotations}


def format_value(rule: AlertRule, value: float | None) -> str:
    """``value`` in the units of the rule's condition: a ratio, a count or a duration."""
    if value is None:
        return "no data"
    condition = rule.condition
    if condition.aggregation == "count":
        return f"{value:.0f}"
    if condition.metric == "smoke_test.success":
        return f"{value:.2f}"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def variables(
    rule: AlertRule,
    *,
    check: Any,
    region: Any,
    regions: Sequence[Any],
    value: Any,
    value_text: Any,
    labels: Mapping[str, Any] | None = None,
    dependents: Sequence[str] = (),
    reason: Any = "",
) -> dict[str, Any]:
    """The template variables (values may be placeholders, as the Prometheus export uses)."""
    return {
        "reason": reason,
        "rule": rule.name,
        "check": check,
        "region": region,
        "regions": list(regions),
        "value": value,
        "value_text": value_text,
        "threshold": rule.condition.threshold,
        "threshold_text": format_value(rule, rule.condition.threshold),
        "condition": rule.condition.text,
        "severity": rule.severity,
        "dependents": list(dependents),
        "labels": {
            **rule.labels,
            "alertname": rule.name,
            "rule": rule.name,
            "severity": rule.severity,
            "check": check,
            "region": region,
            **(labels or {}),
        },
    }


def template_problems(rule: AlertRule, check: str | None = None) -> list[tuple[str, str]]:
    """``(annotation, message)`` for each template that does not compile or render.

    Rendered with a sample value, and with no value (``None``) as well when the rule
    can notify without data (``no_data: alert`` or ``ok``).
    """
    if not rule.annotations:
        return []  # nothing to check: jinja2 stays unloaded
    from jinja2 import TemplateError  # noqa: PLC0415 -- loaded with the environment

    env = environment()
    problems: list[tuple[str, str]] = []
    samples: list[float | None] = [rule.condition.threshold]
    if rule.no_data != "keep":
        samples.append(None)
    for key, source in rule.annotations.items():
        try:
            template = env.from_string(source)
        except TemplateError as exc:
            problems.append((key, f"template does not compile: {exc}"))
            continue
        for value in samples:
            context = variables(
                rule,
                check=check or SAMPLE_CHECK,
                region=SAMPLE_REGION,
                regions=[SAMPLE_REGION],
                value=value,
                value_text=format_value(rule, value),
                reason=SAMPLE_REASON,
            )
            try:
                template.render(context)
            except Exception as exc:  # noqa: BLE001 -- any failure of a user template is reported
                when = "with no data (value None)" if value is None else "with a sample value"
                problems.append((key, f"template fails {when}: {type(exc).__name__}: {exc}"))
                break
    return problems
