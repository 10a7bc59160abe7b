"""``depends_on`` between checks: every name known, no check depending on itself, no cycle.

Each problem is located at the ``depends_on`` entry that causes it, so the loader can
name the file and line.  A cycle is reported once, at the entry that closes it (the
last edge found by a depth-first walk in file order), with the whole loop spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.config.source import Loc


def dependency_problems(entries: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[Loc, str]]:
    """Problems of the ``depends_on`` lists of ``checks`` (index, raw entry) pairs."""
    index_of: dict[str, int] = {}
    for index, entry in entries:
        name = entry.get("name")
        if isinstance(name, str):
            index_of.setdefault(name, index)
    found: list[tuple[Loc, str]] = []
    edges: dict[str, list[tuple[str, Loc]]] = {}
    for index, entry in entries:
        name = entry.get("name")
        parents = entry.get("depends_on")
        if not isinstance(name, str) or not isinstance(parents, list):
            continue
        for position, parent in enumerate(parents):
            loc: Loc = ("checks", index, "depends_on", position)
            if not isinstance(parent, str):
                continue  # the model reports the type
            if parent == name:
                found.append((loc, f"check {name!r} cannot depend on itself"))
            elif parent not in index_of:
                known = ", ".join(n for n in index_of if n != name) or "none"
                found.append((loc, f"unknown check {parent!r} (checks: {known})"))
            else:
                edges.setdefault(name, []).append((parent, loc))
    return found + _cycles(list(index_of), edges)


def _cycles(names: list[str], edges: dict[str, list[tuple[str, Loc]]]) -> list[tuple[Loc, str]]:
    done: set[str] = set()
    found: list[tuple[Loc, str]] = []
    for start in names:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        # Iterative DFS: a stack of (check, its edge iterator position).
        stack: list[tuple[str, int]] = [(start, 0)]
        path.append(start)
        on_path.add(start)
        while stack:
            node, at = stack[-1]
            out = edges.get(node, [])
            if at == len(out):
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            stack[-1] = (node, at + 1)
            parent, loc = out[at]
            if parent in on_path:
                loop = [*path[path.index(parent) :], parent]
                found.append((loc, f"dependency cycle: {' -> '.join(loop)}"))
            elif parent not in done:
                stack.append((parent, 0))
                path.append(parent)
                on_path.add(parent)
    return found
