"""Read a YAML file into plain Python data, remembering the line of every key and item.

Line numbers let errors point at ``smokewatch.yaml:14`` rather than just a field name.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from monitor.errors import ConfigError, ConfigProblem

Loc = tuple[str | int, ...]


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


def read_yaml(path: Path) -> YamlDocument:
    """Parse ``path``; raise ``ConfigError`` naming the file and line on a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), "file not found")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), f"cannot read: {exc.strerror}")]) from None
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = f"invalid YAML: {exc.problem or exc.context}"
        raise ConfigError([ConfigProblem(str(path), problem, line=line)]) from None
    doc = YamlDocument(path=path, data=None)
    doc.data = _plain(raw, (), doc.lines)
    return doc


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            key_loc = (*loc, str(key))
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                lines[key_loc] = node.lc.key(key)[0] + 1
            out[str(key)] = _plain(value, key_loc, lines)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            item_loc = (*loc, index)
            with contextlib.suppress(KeyError, TypeError, AttributeError, IndexError):
                lines[item_loc] = node.lc.item(index)[0] + 1
            items.append(_plain(value, item_loc, lines))
        return items
    if isinstance(node, str):
        return str(node)  # ruamel's ScalarString subclasses -> plain str
    if isinstance(node, bool | int | float) or node is None:
        return node
    return str(node)  # dates and other YAML scalars: keep the text form
