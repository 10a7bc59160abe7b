"""The import graph of monitor/ and probes/: no cycles, and probes/ never imports monitor/.

Built with ``ast`` from the source (nothing is imported): every run-time import,
module level or inside a function, counts; imports under ``if TYPE_CHECKING:`` do
not.  Two graphs are checked.  Modules: no cycle at all, so no package needs lazy
loading or a side-effect import to load in any order.  Packages (each first-level
package of ``monitor/``, each loose module of ``monitor/``, and ``probes``): no cycle
at all, none set aside (the config package owns the channels' settings, target rules and
template checks; alerting imports them, never the other way round).
monitor/'s top level holds only the leaf helpers of :data:`TOP_LEVEL`; every other
module lives in a package.  Synthetic graphs show the checks fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
Graph = Mapping[str, set[str]]

# The only modules at monitor/'s top level: leaf helpers every package may use.
TOP_LEVEL: frozenset[str] = frozenset(
    {
        "monitor",
        "monitor.contract",
        "monitor.awsclient",
        "monitor.dburl",
        "monitor.errors",
        "monitor.logging",
        "monitor.looplag",
        "monitor.modeltypes",
        "monitor.redact",
        "monitor.runner",
        "monitor.version",
    }
)


def _sources(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("monitor", "probes"):
        for path in (root / top).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST) -> Iterator[str]:
    """Every module name imported at run time (``if TYPE_CHECKING:`` blocks skipped)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (name for child in node.orelse for name in _imports(_wrap(child)))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        else:
            yield from _imports(node)


def _wrap(node: ast.stmt) -> ast.Module:
    return ast.Module(body=[node], type_ignores=[])


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules (of monitor/ and probes/) it imports, packages included."""
    sources = _sources(root)
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, path in sources.items():
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = imported
            while target and target not in sources:  # "pkg.mod.Name" -> "pkg.mod"
                target = target.rpartition(".")[0]
            while target:  # importing a.b.c runs a/__init__ and a/b/__init__ as well
                if target != name and not name.startswith(f"{target}."):
                    graph[name].add(target)
                target = target.rpartition(".")[0]
    return graph


def package_of(module: str) -> str:
    """``probes``; ``monitor.<pkg>`` for a module of a first-level package; else the module."""
    parts = module.split(".")
    if parts[0] == "probes":
        return "probes"
    return ".".join(parts[:2])


def package_graph(modules: Graph) -> dict[str, set[str]]:
    """Package -> the packages it imports."""
    graph: dict[str, set[str]] = {package_of(m): set() for m in modules}
    for source, targets in modules.items():
        for target in targets:
            if package_of(source) != package_of(target):
                graph[package_of(source)].add(package_of(target))
    return graph


def find_cycle(graph: Graph) -> list[str]:
    """One cycle as ``[a, b, ..., a]``, or ``[]`` when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def probes_into_monitor(graph: Graph) -> list[str]:
    """``probes.x -> monitor.y`` for each import of monitor/ by probes/."""
    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if source.split(".")[0] == "probes"
        for target in targets
        if target.split(".")[0] == "monitor"
    )


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return module_graph(ROOT)


class TestTheCode:
    """smokewatch's own graphs obey the rules."""

    def test_no_module_cycle(self, modules: dict[str, set[str]]) -> None:
        """No module imports, directly or not, a module that imports it."""
        assert find_cycle(modules) == []

    def test_no_package_cycle(self, modules: dict[str, set[str]]) -> None:
        """Packages form no cycle: no edge is set aside."""
        assert find_cycle(package_graph(modules)) == []

    def test_config_imports_nothing_of_alerting(self, modules: dict[str, set[str]]) -> None:
        """The config package validates channels, targets and templates on its own."""
        reads = sorted(
            f"{m} -> {t}"
            for m, targets in modules.items()
            if package_of(m) == "monitor.config"
            for t in targets
            if package_of(t) == "monitor.alerting"
        )
        assert reads == []

    def test_top_level_holds_only_leaf_helpers(self, modules: dict[str, set[str]]) -> None:
        """Every module of monitor/ outside a package is one of the named leaf helpers."""
        top = {m for m in modules if m.split(".")[0] == "monitor" and m.count(".") <= 1}
        packages = {m for m in top if (ROOT / m.replace(".", "/") / "__init__.py").exists()}
        assert sorted(top - packages - TOP_LEVEL) == []

    def test_probes_never_import_monitor(self, modules: dict[str, set[str]]) -> None:
        """probes/ measures; it never reaches into the service core."""
        assert probes_into_monitor(modules) == []


class TestTheChecks:
    """The checks catch what they are for, on synthetic graphs."""

    @pytest.mark.parametrize(
        ("graph", "cycle"),
        [
            pytest.param({"a": {"b"}, "b": {"c"}, "c": set()}, [], id="chain"),
            pytest.param({"a": {"b", "c"}, "b": {"c"}, "c": set()}, [], id="diamond"),
            pytest.param({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"], id="two-cycle"),
            pytest.param(
                {"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"], id="three-cycle"
            ),
            pytest.param({"x": {"y"}, "y": {"y"}}, ["y", "y"], id="self-loop"),
        ],
    )
    def test_find_cycle(self, graph: dict[str, set[str]], cycle: list[str]) -> None:
        """A cycle is found and spelt out; an acyclic graph gives none."""
        assert find_cycle(graph) == cycle

    @pytest.mark.parametrize(
        ("edges", "cycle"),
        [
            pytest.param(
                {"monitor.config.loader": {"monitor.alerting.templating"}},
                [],
                id="one-way",
            ),
            pytest.param(
                {
                    "monitor.config.loader": {"monitor.alerting.templating"},
                    "monitor.alerting.templating": {"monitor.config.models"},
                },
                ["monitor.alerting", "monitor.config", "monitor.alerting"],
                id="config-and-alerting-import-each-other",
            ),
        ],
    )
    def test_package_cycle(self, edges: dict[str, set[str]], cycle: list[str]) -> None:
        """Two modules of different packages that import each other's package are a cycle."""
        graph = {m: set(t) for m, t in edges.items()}
        for targets in edges.values():
            for target in targets:
                graph.setdefault(target, set())
        assert find_cycle(package_graph(graph)) == cycle

    def test_probes_importing_monitor_is_caught(self) -> None:
        """An import of monitor/ from probes/ is reported by name."""
        graph = {"probes.http": {"monitor.config.models", "probes.base"}}
        assert probes_into_monitor(graph) == ["probes.http -> monitor.config.models"]

    def test_the_real_source_is_read(self, tmp_path: Path) -> None:
        """A cycle written as source files (one import in a function) is found from the files."""
        for pkg, other in (("config", "alerting"), ("alerting", "config")):
            folder = tmp_path / "monitor" / pkg
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text("")
            (folder / "m.py").write_text(f"def f():\n    from monitor.{other}.m import f\n")
        (tmp_path / "monitor" / "__init__.py").write_text("")
        (tmp_path / "probes").mkdir()
        graph = module_graph(tmp_path)
        assert find_cycle(graph) == ["monitor.alerting.m", "monitor.config.m", "monitor.alerting.m"]
