"""A rule's annotations rendered for an alert, and exported as Prometheus (Go) templates.

The templates, their variables and the load-time check live in
:mod:`monitor.config.templates`.  :func:`render_annotations` never raises (a template
that fails at run time falls back to its source text, so a notification still goes
out, and reports the failure to its ``on_error`` callback, which the engine logs with
the traceback); :func:`prometheus_annotations` translates them for ``rules export``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monitor.config.templates import environment, format_value, sources, variables
from monitor.errors import SmokewatchError

if TYPE_CHECKING:
    from monitor.config.rules import AlertRule


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
