"""Which checks a ``run --once`` runs: ``--check NAME`` and ``--tag TAG``, checked by name.

    select_checks(config, "eu-west-1", names=["health"], tags=["tier=critical"])

A check runs when it is named, or when it carries one of the tags (``key`` or
``key=value``); with neither, every check of the region runs.  A name that is no check,
a tag that no check carries, or a named check that does not run in this region is a
``UsageError``: a CI gate must never pass by running nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.errors import UsageError

if TYPE_CHECKING:
    from monitor.config.models import CheckCommon
    from monitor.config.root import SmokewatchConfig


def select_checks(
    config: SmokewatchConfig, region: str, *, names: Sequence[str], tags: Sequence[str]
) -> list[str] | None:
    """The names of the checks to run, or ``None`` for every check of the region."""
    if not names and not tags:
        return None
    known = {c.name: c for c in config.checks}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(
            f"no check named {', '.join(map(repr, unknown))} (checks: {', '.join(known)})"
        )
    elsewhere = [n for n in names if not _runs_here(known[n], region)]
    if elsewhere:
        raise UsageError(
            f"{', '.join(map(repr, elsewhere))} does not run in region {region!r} "
            "(disabled, or not in its 'regions')"
        )
    chosen = dict.fromkeys(names)
    for tag in tags:
        tagged = [c.name for c in config.checks if _has_tag(c, tag)]
        if not tagged:
            raise UsageError(f"no check has the tag {tag!r} (tags are 'key' or 'key=value')")
        chosen.update(dict.fromkeys(c for c in tagged if _runs_here(known[c], region)))
    return list(chosen)


def _runs_here(check: CheckCommon, region: str) -> bool:
    return check.enabled and (check.regions is None or region in check.regions)


def _has_tag(check: CheckCommon, tag: str) -> bool:
    key, sep, value = tag.partition("=")
    return key in check.tags and (not sep or check.tags[key] == value)
