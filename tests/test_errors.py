"""One exception tree: every class is under its root, and ``monitor.errors`` draws them all.

The modules of ``monitor/`` and ``probes/`` are imported and walked; every exception
class defined in ``monitor/`` must derive from ``SmokewatchError`` and every one in
``probes/`` from ``ProbeError`` (probes never import monitor).  The drawing in
``monitor.errors``'s docstring is parsed into ``(class, parent)`` edges and compared
with the real classes, so a new class, a renamed one or a moved one fails here until
the drawing follows.  Synthetic drawings show the comparison catches each kind of drift.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import monitor
import monitor.errors
import probes
import probes.errors
from monitor.errors import SmokewatchError
from probes.errors import ProbeError

_NODE = re.compile(r"^(?P<lead>[ │├└─]*)(?P<name>_?[A-Z]\w*)")
_STEP = 4  # each level of the drawing is indented by four characters


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        found.append(importlib.import_module(info.name))
    return found


def _classes(package: ModuleType) -> list[type[BaseException]]:
    """Every exception class defined (not just imported) in ``package``."""
    return [
        obj
        for module in _modules(package)
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
    ]


def _defined(package: ModuleType) -> dict[str, type[BaseException]]:
    return {cls.__name__: cls for cls in _classes(package)}


def _ours() -> dict[str, type[BaseException]]:
    return {**_defined(monitor), **_defined(probes)}


def drawn_edges(doc: str) -> set[tuple[str, str | None]]:
    """``(class, parent)`` for each class in the drawing (``None`` for a root)."""
    edges: set[tuple[str, str | None]] = set()
    stack: list[str] = []
    for line in doc.splitlines():
        match = _NODE.match(line)
        if match is None or not line.startswith("    "):
            continue
        depth, rest = divmod(len(match["lead"]) - _STEP, _STEP)
        if rest or depth < 0 or depth > len(stack):
            continue  # a wrapped description, not a node
        del stack[depth:]
        edges.add((match["name"], stack[-1] if stack else None))
        stack.append(match["name"])
    return edges


def real_edges(classes: dict[str, type[BaseException]]) -> set[tuple[str, str | None]]:
    """``(class, parent)`` where the parent is the nearest base that is one of ``classes``."""
    named = {cls: name for name, cls in classes.items()}
    edges: set[tuple[str, str | None]] = set()
    for name, cls in classes.items():
        parent = next((named[b] for b in cls.__mro__[1:] if b in named), None)
        edges.add((name, parent))
    return edges


def drift(drawn: set[tuple[str, str | None]], real: set[tuple[str, str | None]]) -> list[str]:
    """What the drawing gets wrong, one line per class (empty when it matches)."""
    return [f"drawn {edge}" for edge in sorted(drawn - real, key=str)] + [
        f"missing {edge}" for edge in sorted(real - drawn, key=str)
    ]


class TestRoots:
    """Every exception class sits under its package's root."""

    def test_monitor_classes_derive_from_smokewatch_error(self) -> None:
        """Each exception class defined anywhere in monitor/ is a SmokewatchError."""
        strays = [n for n, c in _defined(monitor).items() if not issubclass(c, SmokewatchError)]
        assert strays == []

    def test_probe_classes_derive_from_probe_error(self) -> None:
        """Each exception class defined anywhere in probes/ is a ProbeError."""
        strays = [n for n, c in _defined(probes).items() if not issubclass(c, ProbeError)]
        assert strays == []

    def test_class_names_are_unique(self) -> None:
        """No two exception classes share a name (the two DeliveryErrors are now two names)."""
        names = [c.__name__ for p in (monitor, probes) for c in _classes(p)]
        assert sorted(n for n in set(names) if names.count(n) > 1) == []


class TestDrawing:
    """The docstring of monitor.errors draws exactly the classes that exist."""

    def test_drawing_matches_the_classes(self) -> None:
        """Every class appears once under its real parent, and nothing else is drawn."""
        assert drift(drawn_edges(monitor.errors.__doc__ or ""), real_edges(_ours())) == []

    def test_probes_drawing_matches_its_classes(self) -> None:
        """probes.errors draws the probes' own tree the same way."""
        doc = probes.errors.__doc__ or ""
        assert drift(drawn_edges(doc), real_edges(_defined(probes))) == []

    @pytest.mark.parametrize(
        ("drawing", "expected"),
        [
            pytest.param(
                "    Root\n    ├── A\n    │   └── B\n    └── C\n",
                [],
                id="matches",
            ),
            pytest.param(
                "    Root\n    ├── A\n    └── C\n",
                ["missing ('B', 'A')"],
                id="class-not-drawn",
            ),
            pytest.param(
                "    Root\n    ├── A\n    ├── B\n    └── C\n",
                ["drawn ('B', 'Root')", "missing ('B', 'A')"],
                id="drawn-under-wrong-parent",
            ),
            pytest.param(
                "    Root\n    ├── A\n    │   └── B\n    │       └── Gone\n    └── C\n",
                ["drawn ('Gone', 'B')"],
                id="class-that-no-longer-exists",
            ),
        ],
    )
    def test_drift_is_caught(self, drawing: str, expected: list[str]) -> None:
        """A drawing that misses, misplaces or invents a class is reported."""

        root = type("RootError", (Exception,), {})
        a = type("AError", (root,), {})
        b = type("BError", (a,), {})
        c = type("CError", (root,), {})
        real = real_edges({"Root": root, "A": a, "B": b, "C": c})
        assert drift(drawn_edges(drawing), real) == expected
