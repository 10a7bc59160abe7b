"""``smokewatch rules export``: alert-rules.yaml as Prometheus alerting rules.

For a team that already runs Prometheus and Alertmanager: the same rules, evaluated
there over the metrics ``monitor/telemetry/prometheus.py`` exports.  Two formats: a
rule file (``groups:``, for ``rule_files``/``promtool``) and a ``PrometheusRule``
manifest (``monitoring.coreos.com/v1``, for the Prometheus Operator).

Each rule becomes one alert (``alert`` = the rule's name) whose ``expr`` is, per
(check, kind, region) over the rule's ``window`` W, ``VALUE OP THRESHOLD``.  Below,
RAN, PASSED and FAILED are ``sum(increase(smoke_test_runs_total{result...}[W]))`` over
non-error, pass|degraded and fail runs, and RATIO is PASSED / RAN:

=======================  ================================================================
condition                VALUE
=======================  ================================================================
success ratio/avg        ``PASSED / (RAN > 0)``
success min / max        ``FAILED == bool 0`` / ``PASSED > bool 0`` (any failure / any pass)
success pN               ``RATIO > bool (1 - N/100)`` (the nearest-rank percentile of 0/1)
success last             ``max(last_over_time(smoke_test_success[W]))``
count (any metric)       ``RAN > 0`` (duration: its ``_count``; timings: ``and on (...)`` the
                         timing gauge, so only checks that have that timing count)
duration avg             ``sum(increase(smoke_test_duration_seconds_sum[W]))
                         / (sum(increase(smoke_test_duration_seconds_count[W])) > 0)``
duration pN              ``histogram_quantile(N/100, sum by (..., le) (increase(..._bucket[W])))``
api_response, homepage   ``avg|min|max(avg|min|max_over_time(GAUGE[W]))``,
_load avg/min/max/pN     ``max(quantile_over_time(N/100, GAUGE[W]))``, last: ``last_over_time``
/last
=======================  ================================================================

(``sum``/``max`` are ``by (check, kind, region)``: several instances of one region add
up.)  ``error`` results are left out everywhere, as the engine does.  A value needs at
least one non-error run in the window (``... and on (check, kind, region) RAN``): no
runs is no data, and no data never fires.

Selectors become label matchers: ``checks`` globs -> ``check=~"regex"`` (``*`` ``.*``,
``?`` ``.``, ``[...]`` a class), ``regions`` -> ``region=~"a|b"``, ``kinds`` ->
``kind=~"..."``.  ``min_regions: N > 1`` -> ``WORST by (check) (BAD) and on (check)
count by (check) (BAD) >= N``, WORST being ``min`` for ``<``/``<=`` (else ``max``), so
``$value`` is the worst region's value as in the engine's notifications.  ``for`` ->
``for``; ``severity`` and ``labels`` -> ``labels``; annotations -> Go templates
(see :func:`monitor.alerting.templating.prometheus_annotations`); ``no_data: alert`` adds
an ``<name>_no_data`` alert on a selected check that ran nothing but errors, or nothing,
in the window.

Where Prometheus differs from the engine (documented, not hidden):

- counters lose the very first run of a new series (``increase`` needs two samples)
  and are extrapolated to the window's edges: ratios stay ratios, counts are estimates;
- timing gauges hold the last run's value, so ``*_over_time`` weighs each value by how
  long it stood (a run just before the window counts until the next one);
- histogram percentiles interpolate within buckets; ``min``, ``max`` and ``last`` of
  ``smoke_test.duration`` have no Prometheus equivalent and are refused;
- ``notify``, ``repeat_interval`` and ``resolve_after`` belong to Alertmanager's routes
  and Prometheus's ``keep_firing_for``, not to a rule file: they are not exported.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final, Literal

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from monitor.alerting.templating import prometheus_annotations
from monitor.config.rules import AlertRule, AlertRules
from monitor.errors import SmokewatchError

Format = Literal["prometheus", "prometheus-rule"]
GROUP = "smokewatch-alert-rules"
BY: Final = "check, kind, region"
GAUGES: Final = {
    "smoke_test.api_response": "smoke_test_api_response_seconds",
    "smoke_test.homepage_load": "smoke_test_homepage_load_seconds",
}
RUNS: Final = "smoke_test_runs_total"
HISTOGRAM: Final = "smoke_test_duration_seconds"
NOT_ERROR: Final = 'result!="error"'
UP: Final = 'result=~"pass|degraded"'
FAILED: Final = 'result="fail"'
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


class ExportError(SmokewatchError):
    """A rule has no Prometheus equivalent; the message names the rule and the field."""


def export_rules(
    rules: AlertRules, fmt: Format, *, name: str = GROUP, namespace: str | None = None
) -> str:
    """The rules as YAML text in ``fmt``; raises :class:`ExportError`."""
    groups = rule_groups(rules)
    document = groups if fmt == "prometheus" else manifest(groups, name=name, namespace=namespace)
    stream = io.StringIO()
    stream.write("# Generated by `smokewatch rules export` from alert-rules.yaml; edit that.\n")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # long expressions stay on one line (or in their literal block)
    yaml.dump(document, stream)
    return stream.getvalue()


def manifest(groups: dict[str, Any], *, name: str, namespace: str | None) -> dict[str, Any]:
    """A ``PrometheusRule`` custom resource holding ``groups``."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        "app.kubernetes.io/name": "smokewatch",
        "app.kubernetes.io/component": "alerts",
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": groups,
    }


def rule_groups(rules: AlertRules) -> dict[str, Any]:
    """``{"groups": [...]}``: one group holding every rule (and its no-data companion)."""
    exported: list[dict[str, Any]] = []
    for rule in rules.alerts:
        exported.append(alerting_rule(rule))
        if rule.no_data == "alert":
            exported.append(no_data_rule(rule))
    names = [r["alert"] for r in exported]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ExportError(f"alert name(s) {twice} would be exported twice (a rule's no-data alert)")
    return {"groups": [{"name": GROUP, "rules": exported}]}


def alerting_rule(rule: AlertRule) -> dict[str, Any]:
    """One Prometheus alerting rule: alert, expr, for, labels, annotations."""
    try:
        annotations = prometheus_annotations(rule)
    except ValueError as exc:
        raise ExportError(f"rule {rule.name!r}: field 'annotations': {exc}") from None
    out: dict[str, Any] = {"alert": rule.name, "expr": _block(rule_expr(rule))}
    if rule.pending > timedelta(0):
        out["for"] = prom_duration(rule.pending)
    out["labels"] = _labels(rule)
    out["annotations"] = _quoted(annotations)
    return out


def no_data_rule(rule: AlertRule) -> dict[str, Any]:
    """``<name>_no_data``: a selected check exported runs but none (or errors only) in W."""
    window = prom_duration(rule.window)
    ran = _sum(f"{RUNS}{_matchers(rule, NOT_ERROR)}", window)
    exported = f"group by ({BY}) ({RUNS}{_matchers(rule)})"
    return {
        "alert": f"{rule.name}_no_data",
        "expr": _block(f"{exported}\nunless on ({BY})\n({ran} > 0)"),
        "labels": _labels(rule),
        "annotations": _quoted(
            {
                "summary": f"{rule.name}: no results for {{{{ $labels.check }}}} in "
                f"{{{{ $labels.region }}}} over {window}",
            }
        ),
    }


def rule_expr(rule: AlertRule) -> str:
    """The PromQL that returns a series per bad group (per check with ``min_regions > 1``)."""
    condition = rule.condition
    bad = f"({value_expr(rule)})\n{condition.operator} {_number(condition.threshold)}"
    if not rule.aggregated:
        return bad
    worst = "min" if condition.operator in ("<", "<=") else "max"
    if isinstance(rule.min_regions, int):
        enough = f"count by (check) (\n{_indent(bad)}\n) >= {rule.min_regions}"
    else:  # a share of the regions reporting the check
        share = _number(float(rule.min_regions.rstrip("%")) / 100)
        enough = (
            f"count by (check) (\n{_indent(bad)}\n)\n>= on (check) {share} * "
            f"count by (check) (\n{_indent(value_expr(rule))}\n)"
        )
    return f"{worst} by (check) (\n{_indent(bad)}\n)\nand on (check)\n{enough}"


def value_expr(rule: AlertRule) -> str:
    """The condition's value per (check, kind, region); see the module docstring."""
    metric = rule.condition.metric
    # The engine's ratio is the mean of the values: for a timing, its average.
    aggregation = rule.condition.aggregation
    if aggregation == "ratio":
        aggregation = "avg"
    window = prom_duration(rule.window)
    ran = _sum(f"{RUNS}{_matchers(rule, NOT_ERROR)}", window)
    if metric == "smoke_test.success":
        return _success(rule, aggregation, window, ran)
    if metric == "smoke_test.duration":
        return _duration(rule, aggregation, window)
    gauge = f"{GAUGES[metric]}{_matchers(rule)}"
    if aggregation == "count":
        return f"({ran} > 0)\nand on ({BY})\n{gauge}"
    if aggregation.startswith("p"):
        inner = f"max by ({BY}) (quantile_over_time({_quantile(aggregation)}, {gauge}[{window}]))"
    elif aggregation == "last":
        inner = f"max by ({BY}) (last_over_time({gauge}[{window}]))"
    else:
        inner = f"{aggregation} by ({BY}) ({aggregation}_over_time({gauge}[{window}]))"
    return _fresh(inner, ran)


def _success(rule: AlertRule, aggregation: str, window: str, ran: str) -> str:
    passed = _sum(f"{RUNS}{_matchers(rule, UP)}", window)
    ratio = f"{passed}\n/\n({ran} > 0)"
    if aggregation == "avg":
        return ratio
    if aggregation == "count":
        return f"{ran} > 0"
    if aggregation == "min":
        failed = _sum(f"{RUNS}{_matchers(rule, FAILED)}", window)
        return _fresh(f"({failed} == bool 0)", ran)
    if aggregation == "max":
        return _fresh(f"({passed} > bool 0)", ran)
    if aggregation == "last":
        last = f"last_over_time(smoke_test_success{_matchers(rule)}[{window}])"
        return _fresh(f"max by ({BY}) ({last})", ran)
    # Nearest rank over 0/1 values: pN is 0 exactly when the failed share is >= N/100.
    return f"({ratio})\n> bool {_number(round(1 - _quantile(aggregation), 6))}"


def _duration(rule: AlertRule, aggregation: str, window: str) -> str:
    count = _sum(f"{HISTOGRAM}_count{_matchers(rule)}", window)
    if aggregation == "avg":
        total = _sum(f"{HISTOGRAM}_sum{_matchers(rule)}", window)
        return f"{total}\n/\n({count} > 0)"
    if aggregation == "count":
        return f"{count} > 0"
    if aggregation.startswith("p"):
        buckets = f"sum by ({BY}, le) (increase({HISTOGRAM}_bucket{_matchers(rule)}[{window}]))"
        return _fresh(f"histogram_quantile({_quantile(aggregation)}, {buckets})", count)
    raise ExportError(
        f"rule {rule.name!r}: field 'condition': {aggregation}(smoke_test.duration) has no "
        "Prometheus equivalent (the run duration is exported as a histogram only); "
        "use avg, count or a percentile such as p99"
    )


def prom_duration(value: timedelta) -> str:
    """A Prometheus duration: ``5m``, ``1h30m``, ``90s``, ``1500ms``."""
    ms = round(value.total_seconds() * 1000)
    if ms <= 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def glob_regex(patterns: Sequence[str]) -> str:
    """Globs as one RE2 alternation (Prometheus anchors it at both ends)."""
    return "|".join(_glob(p) for p in patterns)


def _glob(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        end = pattern.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif end != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            if body.startswith("^"):
                body = "\\" + body  # a literal caret, as fnmatch reads it
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end
        else:
            out.append(_RE2_SPECIAL.sub(r"\\\1", char))
        i += 1
    return "".join(out)


def _matchers(rule: AlertRule, *extra: str) -> str:
    found = list(extra)
    if rule.checks:
        found.append(_matcher("check", glob_regex(rule.checks)))
    if rule.regions:
        found.append(_matcher("region", _literals(rule.regions)))
    if rule.kinds:
        found.append(_matcher("kind", _literals(rule.kinds)))
    return "{" + ",".join(found) + "}" if found else ""


def _matcher(label: str, regex: str) -> str:
    if not _RE2_SPECIAL.search(regex):
        return f"{label}={_string(regex)}"  # a plain name: an equality matcher reads better
    return f"{label}=~{_string(regex)}"


def _literals(values: Sequence[str]) -> str:
    return "|".join(_RE2_SPECIAL.sub(r"\\\1", v) for v in values)


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sum(selector: str, window: str) -> str:
    return f"sum by ({BY}) (increase({selector}[{window}]))"


def _fresh(value: str, ran: str) -> str:
    return f"{value}\nand on ({BY})\n({ran} > 0)"


def _quantile(aggregation: str) -> float:
    return int(aggregation[1:]) / 100


def _number(value: float) -> str:
    return repr(float(value)).removesuffix(".0") if value == int(value) else repr(float(value))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _labels(rule: AlertRule) -> dict[str, SingleQuotedScalarString]:
    return _quoted({**rule.labels, "severity": rule.severity})


def _quoted(values: dict[str, str]) -> dict[str, SingleQuotedScalarString]:
    # Quoted, so no YAML 1.1 reader takes a label like `page: yes` for a boolean.
    return {key: SingleQuotedScalarString(value) for key, value in values.items()}


def _block(expr: str) -> str | LiteralScalarString:
    return LiteralScalarString(expr + "\n") if "\n" in expr else expr
