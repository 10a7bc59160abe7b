"""Checks across the items of one file, located at the item that breaks them.

Run on the interpolated data before the models validate it, so each problem keeps
its line (a model validator only knows the whole file): a check or rule name used
twice, a check naming a region the file does not declare, a ``depends_on`` naming an
unknown check, the check itself or closing a cycle, a rule taking a reserved name.
"""

from __future__ import annotations

from typing import Any

from monitor.config.dependencies import dependency_problems
from monitor.config.source import Loc

# The rule name of the region self-health alert (monitor.alerting.region_health): no
# user rule may take it.  Here, not in monitor.config.regions (which re-exports it),
# so checking a config's items does not load the region-health and channel models.
REGION_RULE = "region_unhealthy"
# Rule names smokewatch's own alerts use.
RESERVED_RULES = frozenset({REGION_RULE})
# Validation context telling the models these are checked here, with lines.
LOCATED = {"items_checked": True}


def config_item_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Duplicate check names, unknown regions and bad dependencies in ``smokewatch.yaml``."""
    found = _duplicates(data, "checks", "check") + dependency_problems(_entries(data, "checks"))
    regions = data.get("regions")
    if not isinstance(regions, list) or not regions:
        return found  # no regions declared: a check may name any
    known = [r for r in regions if isinstance(r, str)]
    for index, check in _entries(data, "checks"):
        wanted = check.get("regions")
        if not isinstance(wanted, list):
            continue
        for position, region in enumerate(wanted):
            if isinstance(region, str) and region not in known:
                found.append(
                    (
                        ("checks", index, "regions", position),
                        f"unknown region {region!r}: 'regions:' declares {', '.join(known)}",
                    )
                )
    return found


def rules_item_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Duplicate or reserved rule names and duplicate maintenance window names in
    ``alert-rules.yaml``'s data."""
    found = _duplicates(data, "alerts", "alert rule") + _duplicates(
        data, "maintenance", "maintenance window"
    )
    for index, rule in _entries(data, "alerts"):
        if rule.get("name") in RESERVED_RULES:
            found.append(
                (
                    ("alerts", index, "name"),
                    f"the rule name {rule['name']!r} is reserved for the region self-health "
                    "alert (configure it under 'alerting.region_health' in smokewatch.yaml)",
                )
            )
    return found


def _duplicates(data: dict[str, Any], section: str, what: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    found: list[tuple[Loc, str]] = []
    for index, entry in _entries(data, section):
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            found.append(
                (
                    (section, index, "name"),
                    f"{what} name {name!r} is used twice (first by {section}[{first[name]}])",
                )
            )
        else:
            first[name] = index
    return found


def _entries(data: dict[str, Any], section: str) -> list[tuple[int, dict[str, Any]]]:
    items = data.get(section)
    if not isinstance(items, list):
        return []
    return [(i, entry) for i, entry in enumerate(items) if isinstance(entry, dict)]
