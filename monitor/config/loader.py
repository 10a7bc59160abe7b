"""Load ``smokewatch.yaml`` and ``alert-rules.yaml``: parse, interpolate, validate, cross-check.

Every problem in both files is collected and raised together as one ``ConfigError``,
each naming the file, the line, the item and the field.  Nothing half-loads.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.interpolate import interpolate
from monitor.config.root import SmokewatchConfig
from monitor.config.rules import AlertRules
from monitor.config.source import Loc, YamlDocument, read_yaml
from monitor.errors import ConfigError, ConfigProblem

DEFAULT_CONFIG = "smokewatch.yaml"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid config, its rules, and every secret value that must never be shown."""

    config: SmokewatchConfig
    rules: AlertRules
    secrets: frozenset[str]
    path: Path
    rules_path: Path | None


def resolve_config_path(explicit: str | Path | None, env: Mapping[str, str]) -> Path:
    """``--config`` wins, then ``SMOKEWATCH_CONFIG``, then ``./smokewatch.yaml``."""
    return Path(explicit or env.get("SMOKEWATCH_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load and validate ``path`` (and the rules it points to); raise ``ConfigError``."""
    env = dict(os.environ) if env is None else env
    problems: list[ConfigProblem] = []
    secrets: set[str] = set()

    doc = read_yaml(path)
    config = _validate(
        doc, SmokewatchConfig, env=env, secrets=secrets, problems=problems, section_items={"checks"}
    )
    if config is not None and not config.checks:
        problems.append(
            ConfigProblem(str(path), "no checks defined: add at least one under 'checks:'")
        )

    rules = AlertRules()
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
                parsed = _validate(
                    rules_doc,
                    AlertRules,
                    env=env,
                    secrets=secrets,
                    problems=problems,
                    section_items={"alerts"},
                )
                if parsed is not None:
                    rules = parsed
                    if config is not None:
                        problems.extend(_cross_check(rules_doc, rules, config))
        else:
            rules_path = None

    if problems or config is None:
        raise ConfigError(problems)
    override = env.get("SMOKEWATCH_DATABASE_URL")
    if override:
        storage = config.storage.model_copy(update={"url": override})
        config = config.model_copy(update={"storage": storage})
    return LoadedConfig(config, rules, frozenset(secrets), path, rules_path)


def _validate(
    doc: YamlDocument,
    model: type[ModelT],
    *,
    env: Mapping[str, str],
    secrets: set[str],
    problems: list[ConfigProblem],
    section_items: set[str],
) -> ModelT | None:
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
    for loc, message in result.problems:
        problems.append(_problem(doc, loc, message, section_items))
    if result.problems:
        return None
    try:
        return model.model_validate(result.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            loc = _data_loc(result.data, tuple(error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(_problem(doc, loc, message, section_items))
        return None


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
    doc: YamlDocument, rules: AlertRules, config: SmokewatchConfig
) -> list[ConfigProblem]:
    """Rules may only name checks, regions and kinds that exist."""
    problems: list[ConfigProblem] = []
    names = [c.name for c in config.checks]
    kinds = {c.kind for c in config.checks}
    for index, rule in enumerate(rules.alerts):
        for pattern in rule.checks or ():
            if not fnmatch.filter(names, pattern):
                problems.append(
                    _problem(
                        doc,
                        ("alerts", index, "checks"),
                        f"no check matches {pattern!r}",
                        {"alerts"},
                    )
                )
        if config.regions:
            for region in set(rule.regions or ()) - set(config.regions):
                problems.append(
                    _problem(
                        doc, ("alerts", index, "regions"), f"unknown region {region!r}", {"alerts"}
                    )
                )
        for kind in set(rule.kinds or ()) - kinds:
            problems.append(
                _problem(doc, ("alerts", index, "kinds"), f"no check of kind {kind!r}", {"alerts"})
            )
    return problems
