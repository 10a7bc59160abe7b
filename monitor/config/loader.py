"""Load ``smokewatch.yaml`` and ``alert-rules.yaml``: parse, interpolate, validate, cross-check.

Every problem in both files is collected and raised together as one ``ConfigError``,
each naming the file, the line, the item and the field.  Nothing half-loads.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from monitor.config.interpolate import interpolate
from monitor.config.items import LOCATED, config_item_problems, rules_item_problems
from monitor.config.models import CheckCommon
from monitor.config.root import SmokewatchConfig, config_model, kinds_named, sections_written
from monitor.config.source import Loc, YamlDocument, read_yaml
from monitor.config.storage import storage_problem
from monitor.errors import ConfigError, ConfigProblem
from probes import PROBES
from probes.base import SpecSecrets

if TYPE_CHECKING:
    from monitor.config.channels import ChannelSettings
    from monitor.config.rules import AlertRule, AlertRules

DEFAULT_CONFIG = "smokewatch.yaml"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid config, its rules, and every secret value that must never be shown."""

    config: SmokewatchConfig
    read_rules: AlertRules | None  # None: no rules file was read
    secrets: frozenset[str]
    path: Path
    rules_path: Path | None
    warnings: tuple[ConfigProblem, ...] = ()  # unset ${VAR}s, when allowed

    @property
    def rules(self) -> AlertRules:
        """The alert rules read, or none; the empty set is built on first use, so a
        command that never looks (``validate`` without rules) never loads their models."""
        return self.read_rules if self.read_rules is not None else _no_rules()


@functools.cache
def _no_rules() -> AlertRules:
    from monitor.config.rules import AlertRules  # noqa: PLC0415 -- see LoadedConfig.rules

    return AlertRules()


def resolve_config_path(explicit: str | Path | None, env: Mapping[str, str]) -> Path:
    """``--config`` wins, then ``SMOKEWATCH_CONFIG``, then ``./smokewatch.yaml``."""
    return Path(explicit or env.get("SMOKEWATCH_CONFIG") or DEFAULT_CONFIG)


def load_config(
    path: Path, env: Mapping[str, str] | None = None, *, allow_unset: bool = False
) -> LoadedConfig:
    """Load and validate ``path`` (and the rules it points to); raise ``ConfigError``.

    Every problem of both files is found in one pass: an unset ``${VAR}`` or a broken
    check does not stop the rest from being checked.  ``allow_unset`` (for commands
    that only read the config: ``validate``, ``rules export``) turns unset variables
    into ``warnings`` instead of problems.
    """
    env = dict(os.environ) if env is None else env
    problems: list[ConfigProblem] = []
    found = _Found(problems, [], allow_unset)
    secrets: set[str] = set()

    doc = read_yaml(path)
    config = _validate(
        doc,
        SmokewatchConfig,  # with the check models of the kinds it names: config_model
        env=env,
        secrets=secrets,
        found=found,
        section_items={"checks"},
        items=config_item_problems,
    )
    if config is not None and not config.checks:
        problems.append(
            ConfigProblem(str(path), "no checks defined: add at least one under 'checks:'")
        )

    rules: AlertRules | None = None  # none read: LoadedConfig.rules builds the empty set
    rules_path: Path | None = None
    raw_rules = (
        doc.data.get("alert_rules", "alert-rules.yaml") if isinstance(doc.data, dict) else None
    )
    if isinstance(raw_rules, str) and raw_rules:
        rules_path = (path.parent / raw_rules).resolve()
        explicit = "alert_rules" in doc.data
        if rules_path.exists() or explicit:
            try:
                rules_doc = read_yaml(rules_path)
            except ConfigError as exc:
                problems.extend(exc.problems)
            else:
                # The rules' models (and the channels' they name) load only with a file.
                from monitor.config.rules import AlertRules  # noqa: PLC0415

                parsed = _validate(
                    rules_doc,
                    AlertRules,
                    env=env,
                    secrets=secrets,
                    found=found,
                    section_items={"alerts", "maintenance"},
                    items=rules_item_problems,
                )
                if parsed is not None:
                    rules = parsed
                    problems.extend(_rules_against(rules_doc, rules, config, found))
        else:
            rules_path = None

    override = env.get("SMOKEWATCH_DATABASE_URL")
    if config is not None and override:
        storage = config.storage.model_copy(update={"url": override})
        config = config.model_copy(update={"storage": storage})
    if config is not None:
        problems.extend(_region_health_problems(doc, config))
    url = override or (config.storage.url if config is not None else _raw_storage_url(doc))
    problem = storage_problem(url) if url is not None else None
    if problem is not None:
        problems.append(_storage_problem(doc, problem, from_env=bool(override)))
    if problems or config is None:
        raise ConfigError(problems)
    # Channel secrets count also when written literally (not through ${ENV}): the
    # Runtime's redactor and the API's scrubber both mask what is here.
    if config.given("alerting"):
        secrets.update(config.alerting.channels.secret_values())
    # Likewise secrets a check's kind holds in its own fields (a heartbeat's token).
    secrets.update(
        v
        for check in config.checks
        if isinstance(check, SpecSecrets)
        for v in check.secret_values()
    )
    return LoadedConfig(config, rules, frozenset(secrets), path, rules_path, tuple(found.warnings))


@dataclass(frozen=True, slots=True)
class _Found:
    """What loading found: problems (fatal), warnings, and whether unset variables warn;
    the interpolated ``smokewatch.yaml`` and the items of it that are broken."""

    problems: list[ConfigProblem]
    warnings: list[ConfigProblem]
    allow_unset: bool
    data: dict[str, Any] = field(default_factory=dict)
    broken: set[int] = field(default_factory=set)  # indices of checks with a problem


def _rules_against(
    doc: YamlDocument, rules: AlertRules, config: SmokewatchConfig | None, found: _Found
) -> list[ConfigProblem]:
    """Cross-check the rules with the config; with a broken config, with its valid checks.

    Then a rule, window or silence that could select a broken check is left unchecked
    (it might be right once that check is fixed): one pass still finds the others.
    """
    if config is not None:
        return _cross_check(doc, rules, config)
    checks = found.data.get("checks")
    if not found.broken or not isinstance(checks, list):
        return []
    kept = [c for i, c in enumerate(checks) if i not in found.broken]
    try:
        partial = config_model(
            kinds_named({"checks": kept}), sections_written(found.data)
        ).model_validate({**found.data, "checks": kept}, context=LOCATED)
    except ValidationError:
        return []  # more than checks is broken: nothing to cross-check against
    names = [
        c.get("name") if isinstance(c, dict) else None
        for i, c in enumerate(checks)
        if i in found.broken
    ]

    def may_select(patterns: tuple[str, ...] | None) -> bool:
        return patterns is None or any(
            not isinstance(n, str) or fnmatch.fnmatchcase(n, p) for n in names for p in patterns
        )

    unsure = {f"alerts[{i}]" for i, r in enumerate(rules.alerts) if may_select(r.checks)}
    unsure |= {f"maintenance[{i}]" for i, w in enumerate(rules.maintenance) if may_select(w.checks)}
    known = [c["name"] for c in checks if isinstance(c, dict) and isinstance(c.get("name"), str)]
    return [
        p
        for p in _cross_check(doc, rules, partial, known)
        if (p.item or "").partition(" ")[0] not in unsure
    ]


def _raw_storage_url(doc: YamlDocument) -> str | None:
    """``storage.url`` as written, to check it even when the rest of the file is invalid."""
    storage = doc.data.get("storage") if isinstance(doc.data, dict) else None
    url = storage.get("url") if isinstance(storage, dict) else None
    return url if isinstance(url, str) and "$" not in url else None


def _storage_problem(doc: YamlDocument, message: str, *, from_env: bool) -> ConfigProblem:
    if from_env:
        return ConfigProblem(str(doc.path), f"SMOKEWATCH_DATABASE_URL: {message}")
    line = doc.lines.get(("storage", "url")) or doc.lines.get(("storage",))
    return ConfigProblem(str(doc.path), message, line=line, field="storage.url")


def _region_health_problems(doc: YamlDocument, config: SmokewatchConfig) -> list[ConfigProblem]:
    """Every ``alerting.region_health.notify`` target must be deliverable."""
    if not config.given("alerting"):
        return []  # the defaults notify no one
    from monitor.config.targets import target_problem  # noqa: PLC0415 -- with alerting only

    alerting = config.alerting
    if not alerting.enabled:
        return []
    found: list[ConfigProblem] = []
    for i, target in enumerate(alerting.region_health.notify or ()):
        problem = target_problem(target, alerting.channels)
        if problem is not None:
            loc: Loc = ("alerting", "region_health", "notify", i)
            found.append(_problem(doc, loc, problem, set()))
    return found


def _validate(
    doc: YamlDocument,
    model: type[ModelT],
    *,
    env: Mapping[str, str],
    secrets: set[str],
    found: _Found,
    section_items: set[str],
    items: Callable[[dict[str, Any]], list[tuple[Loc, str]]],
) -> ModelT | None:
    problems = found.problems
    data: Any = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(doc.path), "the top level must be a mapping", line=1))
        return None
    declared = data.get("secrets", ())
    names = (
        frozenset(n for n in declared if isinstance(n, str))
        if isinstance(declared, list)
        else frozenset()
    )
    result = interpolate(data, env, base_dir=doc.path.parent, secret_names=names)
    secrets |= result.secrets
    reported = [loc for loc, _ in result.problems]
    for loc, message in result.problems:
        problems.append(_problem(doc, loc, message, section_items))
    unset = dict(result.unset)
    for loc, name in result.unset:
        problem = _problem(doc, loc, f"environment variable {name} is not set", section_items)
        (found.warnings if found.allow_unset else problems).append(problem)
        if not found.allow_unset:
            reported.append(loc)
    located = items(result.data)
    for loc, message in located:
        problems.append(_problem(doc, loc, message, section_items))
    is_config = model is SmokewatchConfig
    if is_config and isinstance(result.data, dict):
        found.data.update(result.data)
        seen = [loc for loc, _ in [*result.problems, *located]] + (
            [loc for loc, _ in result.unset] if not found.allow_unset else []
        )
        found.broken.update(_check_indices(seen))
    try:
        target = (
            cast(
                type[ModelT], config_model(kinds_named(result.data), sections_written(result.data))
            )
            if is_config
            else model
        )
        validated = target.model_validate(result.data, context=LOCATED)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            loc = _data_loc(result.data, tuple(error["loc"]))
            if any(loc[: len(seen)] == seen for seen in reported):
                continue  # its value came from a reference already reported
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] in _KIND_ERRORS:
                loc, message = (*loc, "kind"), _kind_message(error.get("ctx", {}))
            if loc in unset:
                message += f" (the value stands in for ${{{unset[loc]}}}, which is not set)"
            problems.append(_problem(doc, loc, message, section_items))
            if is_config:
                found.broken.update(_check_indices([loc]))
        return None
    return None if located or result.problems else validated


def _check_indices(locs: list[Loc]) -> set[int]:
    """The checks (by index) that these problem locations fall in."""
    return {
        loc[1] for loc in locs if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int)
    }


_KIND_ERRORS = frozenset({"union_tag_not_found", "union_tag_invalid"})


def _kind_message(ctx: dict[str, Any]) -> str:
    """A check without a known ``kind``, said plainly (pydantic speaks of discriminators)."""
    expected = ", ".join(PROBES)
    found = ctx.get("tag")
    if found is None:
        return f"required: one of {expected}"
    return f"unknown kind {found!r}: expected one of {expected}"


def _data_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Map a pydantic error location onto the document, dropping union tags it inserts."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and node.get("kind") == part:
            continue  # the discriminator tag of a check union
        elif isinstance(part, str) and not part.startswith(("function-", "tagged-union")):
            out.append(part)  # a missing field: still worth naming
            node = None
    return tuple(out)


def _problem(doc: YamlDocument, loc: Loc, message: str, section_items: set[str]) -> ConfigProblem:
    item: str | None = None
    rest: Loc = loc
    if len(loc) >= 2 and loc[0] in section_items and isinstance(loc[1], int):
        item = f"{loc[0]}[{loc[1]}]"
        entry = doc.data[loc[0]][loc[1]] if _has(doc.data, loc[:2]) else None
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            item += f" ({entry['name']})"
        rest = loc[2:]
    field = _dotted(rest) or None
    return ConfigProblem(str(doc.path), message, line=doc.line_of(loc), item=item, field=field)


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _has(data: Any, loc: Loc) -> bool:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _cross_check(
    doc: YamlDocument,
    rules: AlertRules,
    config: SmokewatchConfig,
    known: list[str] | None = None,
) -> list[ConfigProblem]:
    """What the rules name must exist in the config; their templates must render.

    Checks (globs), regions and kinds must match something, a rule's metric must have
    values for a check it selects, ``min_regions`` must be reachable, every notify
    target must be deliverable with ``alerting.channels``, annotation templates must
    compile and render, and maintenance windows and silences may only name what exists.
    """
    sections = {"alerts", "maintenance", "silences"}
    found: list[tuple[Loc, str]] = []
    for index, rule in enumerate(rules.alerts):
        problems = _rule_problems(rule, config, known)
        found += [(("alerts", index, *loc), msg) for loc, msg in problems]
    names = known or [c.name for c in config.checks]
    rule_names = {rule.name for rule in rules.alerts}
    for index, window in enumerate(rules.maintenance):
        for i, pattern in enumerate(window.checks or ()):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
                found.append((("maintenance", index, "checks", i), _no_check(pattern, names)))
        for i, pattern in enumerate(window.rules or ()):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in rule_names):
                found.append(
                    (("maintenance", index, "rules", i), f"no alert rule matches {pattern!r}")
                )
    labels = {"alertname", "rule", "check", "region", "severity"} | {
        label for rule in rules.alerts for label in rule.labels
    }
    for index, silence in enumerate(rules.silences):
        for label in sorted(set(silence.matchers) - labels):
            found.append(
                (
                    ("silences", index, "matchers", label),
                    f"{label!r} is no alert label: use rule (or alertname), check, region, "
                    "severity or a label a rule sets",
                )
            )
    return [_problem(doc, loc, message, sections) for loc, message in found]


def _no_check(pattern: str, names: list[str]) -> str:
    return f"no check matches {pattern!r} (checks: {', '.join(names)})"


def _rule_problems(
    rule: AlertRule, config: SmokewatchConfig, known: list[str] | None = None
) -> list[tuple[Loc, str]]:
    """``known``: every check name, when ``config`` holds only the valid checks."""
    names = known or [c.name for c in config.checks]
    kinds = {c.kind for c in config.checks}
    found: list[tuple[Loc, str]] = []
    for i, pattern in enumerate(rule.checks or ()):
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            found.append((("checks", i), _no_check(pattern, names)))
    for i, region in enumerate(rule.regions or ()):
        if config.regions and region not in config.regions:
            declared = ", ".join(config.regions)
            found.append((("regions", i), f"unknown region {region!r} (regions: {declared})"))
    for i, kind in enumerate(rule.kinds or ()):
        if kind not in PROBES:
            found.append((("kinds", i), f"unknown kind {kind!r} (kinds: {', '.join(PROBES)})"))
        elif kind not in kinds:
            found.append((("kinds", i), f"no check of kind {kind!r}"))
    selected = [c for c in config.checks if _selects(rule, c)]
    if not found:
        found += _selection_problems(rule, config, selected)
    found += _notify_problems(rule, config)
    example = selected[0].name if selected else None
    from monitor.config.templates import template_problems  # noqa: PLC0415 -- with rules only

    found += [(("annotations", key), msg) for key, msg in template_problems(rule, example)]
    return found


def _selects(rule: AlertRule, check: CheckCommon) -> bool:
    return (
        (rule.checks is None or any(fnmatch.fnmatchcase(check.name, p) for p in rule.checks))
        and (rule.kinds is None or check.kind in rule.kinds)
        and (
            rule.regions is None
            or check.regions is None
            or bool(set(check.regions) & set(rule.regions))
        )
    )


def _selection_problems(
    rule: AlertRule, config: SmokewatchConfig, selected: list[CheckCommon]
) -> list[tuple[Loc, str]]:
    """The selectors together, the metric and ``min_regions`` against what is selected."""
    if not selected:
        field = "checks" if rule.checks else "kinds" if rule.kinds else "regions"
        return [((field,), "checks, kinds and regions together select no check")]
    from monitor.config.rules import METRIC_KINDS  # noqa: PLC0415 -- with rules only

    found: list[tuple[Loc, str]] = []
    metric = rule.condition.metric
    wanted = METRIC_KINDS.get(metric)
    if wanted is not None and not any(c.kind in wanted for c in selected):
        found.append(
            (
                ("condition",),
                f"{metric} has values only for {' and '.join(sorted(wanted))} checks, and the "
                f"rule selects none (it selects: {', '.join(c.name for c in selected)})",
            )
        )
    regions = rule.regions or config.regions
    if regions and isinstance(rule.min_regions, int) and rule.min_regions > len(set(regions)):
        found.append(
            (
                ("min_regions",),
                f"{rule.min_regions} regions can never fail at once: the rule sees "
                f"{len(set(regions))} ({', '.join(dict.fromkeys(regions))})",
            )
        )
    return found


def _notify_problems(rule: AlertRule, config: SmokewatchConfig) -> list[tuple[Loc, str]]:
    # `alerting:` becomes a SmokewatchConfig section when the alerting engine is wired in;
    # until then (and with `alerting.enabled: false`) nothing is sent, so nothing to check.
    alerting = getattr(config, "alerting", None)
    if alerting is None or not alerting.enabled:
        return []
    from monitor.config.targets import target_problem  # noqa: PLC0415 -- with rules only

    channels: ChannelSettings = alerting.channels
    found: list[tuple[Loc, str]] = []
    for i, target in enumerate(rule.notify):
        problem = target_problem(target, channels)
        if problem is not None:
            found.append((("notify", i), problem))
    return found
