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
does not render with sample values stops the load; the engine calls
:func:`render_annotations`, which never raises (a template that fails at run time
falls back to its source text, so a notification still goes out, and reports the
failure to its ``on_error`` callback, which the engine logs with the traceback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monitor.errors import SmokewatchError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    # Only for annotations: the config loader imports this module to check templates.
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


def render_annotations(
    rule: AlertRule,
    *,
    check: str | None,
    region: str | None = None,
    regions: Sequence[str] = (),
    value: float | None,
    labels: Mapping[str, str] | None = None,
    dependents: Sequence[str] = (),
    reason: str = "",
    on_error: Callable[[str, Exception], None] | None = None,
) -> dict[str, str]:
    """The rule's annotations rendered for one alert; ``summary`` is always present.

    ``regions`` defaults to ``[region]``; ``region`` to the regions joined by ", ".
    Never raises: a template that fails renders as its source text, and ``on_error``
    is told (annotation name and exception) so the failure is logged, not lost.
    """
    shown = list(regions) or ([region] if region else [])
    context = variables(
        rule,
        check=check or "",
        region=region if region is not None else ", ".join(shown),
        regions=shown,
        value=value,
        value_text=format_value(rule, value),
        labels=labels,
        dependents=dependents,
        reason=reason,
    )
    env = environment()
    out: dict[str, str] = {}
    for key, source in sources(rule).items():
        try:
            out[key] = env.from_string(source).render(context)
        except Exception as exc:  # noqa: BLE001 -- a user template may raise anything; still notify
            out[key] = source
            if on_error is not None:
                on_error(key, exc)
    return out


def template_problems(rule: AlertRule, check: str | None = None) -> list[tuple[str, str]]:
    """``(annotation, message)`` for each template that does not compile or render.

    Rendered with a sample value, and with no value (``None``) as well when the rule
    can notify without data (``no_data: alert`` or ``ok``).
    """
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


# -- Prometheus export: the same templates rendered into Go templates --------------------


class _ComputedValueError(SmokewatchError):
    """A template computed with a value only Prometheus knows when the alert fires."""


class _Go:
    """A value Prometheus fills in (``$labels.check``, ``$value``): rendered as a sentinel.

    Jinja renders the template with these in place of the values; the sentinels are then
    swapped for Go template actions, after the literal text has been escaped for Go.
    """

    __slots__ = ("_actions", "_slot")

    def __init__(self, actions: list[str], action: str) -> None:
        self._actions = actions
        self._slot = len(actions)
        actions.append(action)

    def __str__(self) -> str:
        return f"\x00{self._slot}\x00"

    def __float__(self) -> float:
        raise _ComputedValueError

    def __int__(self) -> int:
        raise _ComputedValueError


class _GoValue(_Go):
    """``$value``: also survives Jinja's ``round`` filter, as ``printf "%.Nf"``."""

    __slots__ = ()

    def __round__(self, ndigits: int | None = None) -> _Go:
        return _Go(self._actions, f'{{{{ printf "%.{ndigits or 0}f" $value }}}}')


def _go_value_text(rule: AlertRule) -> str:
    if rule.condition.aggregation == "count":
        return '{{ printf "%.0f" $value }}'
    if rule.condition.metric == "smoke_test.success":
        return '{{ printf "%.2f" $value }}'
    return "{{ humanizeDuration $value }}"


def _to_go(text: str, actions: list[str]) -> str:
    out = text.replace("{{", '{{ "{{" }}')  # literal braces must not open a Go action
    for slot, action in enumerate(actions):
        out = out.replace(f"\x00{slot}\x00", action)
    if "\x00" in out:
        raise _ComputedValueError
    return out


def prometheus_annotations(rule: AlertRule) -> dict[str, str]:
    """The rule's annotations as Prometheus (Go) templates over ``$labels`` and ``$value``.

    Raises ``ValueError`` naming the annotation when a template computes with the value
    (arithmetic, comparisons, ``format``): only ``{{ value }}``, ``{{ value_text }}`` and
    ``{{ value | round(N) }}`` translate.
    """
    actions: list[str] = []
    check = _Go(actions, "{{ $labels.check }}")
    region: Any = (
        f"{rule.min_regions}+ regions" if rule.aggregated else _Go(actions, "{{ $labels.region }}")
    )
    context = variables(
        rule,
        check=check,
        region=region,
        regions=[region],
        value=_GoValue(actions, "{{ $value }}"),
        value_text=_Go(actions, _go_value_text(rule)),
        # smoke_test_failures_total carries a reason label; other series render it empty.
        reason=_Go(actions, "{{ $labels.reason }}"),
    )
    env = environment()
    out: dict[str, str] = {}
    for key, source in sources(rule).items():
        try:
            out[key] = _to_go(env.from_string(source).render(context), actions)
        except _ComputedValueError:
            raise ValueError(
                f"annotation {key!r} computes with the value, which Prometheus knows only when "
                "the alert fires: use {{ value }}, {{ value_text }} or {{ value | round(N) }}"
            ) from None
        except Exception as exc:  # noqa: BLE001 -- reported with the annotation's name
            raise ValueError(f"annotation {key!r}: {type(exc).__name__}: {exc}") from None
    return out
