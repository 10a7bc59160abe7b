"""A parsed YAML file and the bounds every reader of one keeps (a leaf: both the
ruamel reader, ``monitor.config.source``, and the libyaml one, ``monitor.config.fastyaml``,
build these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Loc = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 100_000
_CORE = "tag:yaml.org,2002:"
CORE_TAGS = frozenset(
    {"!", *(f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq"))}
)


@dataclass(slots=True)
class YamlDocument:
    """A parsed file: ``data`` as plain dicts/lists/scalars and ``lines`` by location (1-based)."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest located parent."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None
