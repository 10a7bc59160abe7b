"""Checks across the items of one file, located at the item that breaks them.

Run on the interpolated data before the models validate it, so each problem keeps
its line (a model validator only knows the whole file): a check or rule name used
twice, a check naming a region the file does not declare.
"""

from __future__ import annotations

from typing import Any

from monitor.config.source import Loc

# Validation context telling the models these are checked here, with lines.
LOCATED = {"items_checked": True}


def config_item_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Duplicate check names and unknown regions in ``smokewatch.yaml``'s data."""
    found = _duplicates(data, "checks", "check")
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
    """Duplicate rule and maintenance window names in ``alert-rules.yaml``'s data."""
    return _duplicates(data, "alerts", "alert rule") + _duplicates(
        data, "maintenance", "maintenance window"
    )


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
