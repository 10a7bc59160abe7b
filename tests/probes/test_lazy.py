"""``probes.lazy.lazy_import``: a module whose code runs on first use, and only then.

Real modules written to a temporary directory record when their code runs; the
lazily bound one runs on its first attribute access, and once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.lazy import lazy_import, load_pending

PACKAGE = "lazy_sample_pkg"


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A package with a child module that appends to ``RUNS`` in the package when it runs."""
    root = tmp_path / PACKAGE
    root.mkdir()
    (root / "__init__.py").write_text("RUNS = []\n")
    (root / "child.py").write_text(
        f"import {PACKAGE}\n{PACKAGE}.RUNS.append('child')\nVALUE = 42\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


class TestLazyImport:
    """Binding is free; the first attribute read runs the module."""

    def test_runs_on_first_attribute_access_only(self, package: Path) -> None:
        """Nothing runs when bound; reading an attribute runs the module once."""
        child = lazy_import(f"{PACKAGE}.child")
        parent = sys.modules[PACKAGE]
        before = list(parent.RUNS)
        assert (before, child.VALUE, child.VALUE, parent.RUNS) == ([], 42, 42, ["child"])

    def test_the_parent_package_knows_its_child(self, package: Path) -> None:
        """``parent.child`` is the lazy module, as after a plain import."""
        child = lazy_import(f"{PACKAGE}.child")
        assert sys.modules[PACKAGE].child is child

    def test_a_loaded_module_is_returned_as_it_is(self) -> None:
        """A module already imported is handed back, not wrapped."""
        assert lazy_import("json") is sys.modules["json"]

    def test_a_missing_module_fails_at_once(self) -> None:
        """A name that cannot be found is an error when bound, not on first use."""
        with pytest.raises(ModuleNotFoundError):
            lazy_import("no_such_module_anywhere")

    def test_load_pending_runs_what_was_bound(self, package: Path) -> None:
        """The service runs every bound module as it starts, before any check is timed."""
        lazy_import(f"{PACKAGE}.child")
        parent = sys.modules[PACKAGE]
        before = list(parent.RUNS)
        load_pending()
        assert (before, parent.RUNS) == ([], ["child"])

    def test_load_pending_leaves_what_is_bound_for_use_on_demand(self, package: Path) -> None:
        """A module bound with ``preload=False`` (the config's validators load it when a check
        needs it) is left to its first use."""
        child = lazy_import(f"{PACKAGE}.child", preload=False)
        parent = sys.modules[PACKAGE]
        load_pending()
        assert parent.RUNS == []
        assert (child.VALUE, parent.RUNS) == (42, ["child"])

    def test_a_name_bound_twice_is_preloaded_if_either_asks(self, package: Path) -> None:
        """Bound on demand by one module and with preload by another, it is preloaded."""
        lazy_import(f"{PACKAGE}.child", preload=False)
        lazy_import(f"{PACKAGE}.child")
        load_pending()
        assert sys.modules[PACKAGE].RUNS == ["child"]
