"""libyaml's fast read of a config gives exactly what ruamel's reading gives, or steps aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.config import fastyaml, source
from monitor.config.source import MAX_DEPTH, MAX_NODES
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
# Every config-shaped YAML file of the repository (Helm templates are not YAML until rendered).
FILES = [
    "alert-rules.yaml",
    "examples/alert-rules.yaml",
    "examples/smokewatch.yaml",
    "helm/smokewatch/values.yaml",
    "helm/smokewatch/examples/cronjob.yaml",
    "helm/smokewatch/examples/multi-region.yaml",
    "dashboards/prometheus/smokewatch-rules.yml",
    "tests/alerting/export/rich-rules.yaml",
    "tests/alerting/export/smokewatch.yaml",
    "tests/alerting/export/two-regions.yaml",
    "tests/telemetry/rules_test.yml",
]

# Documents libyaml reads itself: YAML 1.2 scalars as ruamel resolves them.
FAST = {
    "yaml-1.1-words-are-strings": "a: yes\nb: no\nc: on\nd: off\ne: y\nf: NO\n",
    "booleans-and-nulls": "a: true\nb: False\nc: TRUE\nd: ~\ne: null\nf:\ng: Null\n",
    "numbers": "a: 0\nb: -12\nc: +7\nd: 1.5\ne: -0.25\nf: 30s\ng: 1.2.3\nh: 10ms\n",
    "quoted-numbers": "a: '010'\nb: \"1e3\"\nc: 'true'\nd: '~'\n",
    "block-scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\nc: |+\n  kept\n\n",
    "anchors-and-aliases": "base: &b {retries: 1, tags: [x, y]}\nc: *b\nd: [*b, *b]\n",
    "nested-lists": "checks:\n  - name: a\n    kind: http\n    expect:\n      - {status: 200}\n",
    "flow-collections": "a: {x: 1, y: [1, 2, {z: q}]}\nb: []\nc: {}\n",
    "number-and-bool-keys": "1: a\nfalse: b\n~: c\n",
    "unicode-and-urls": "name: café ☕\nurl: https://e.com/a?b=1&c=2#x\nheader: 'X: y'\n",
    "comments": "# top\na: 1  # one\n# between\nb: [1, 2]  # two\n",
    "explicit-str": "a: !!str 010\nb: ! 12\n",
    "empty-document": "",
    "only-comments": "# nothing\n",
    "top-level-list": "- a\n- 1\n",
}

# Documents left to ruamel: a value ruamel reads its own way, or an error it words.
SLOW = {
    "octal": "a: 010\n",
    "hex": "a: 0x1F\n",
    "underscores": "a: 1_000\n",
    "exponent": "a: 1e3\n",
    "infinity": "a: .inf\n",
    "trailing-dot": "a: 1.\n",
    "timestamp": "a: 2001-12-14\n",
    "merge-key": "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
    "explicit-int": "a: !!int 5\n",
    "python-tag": "a: !!python/object/apply:os.system [id]\n",
    "local-tag": "a: !secret x\n",
    "yaml-directive": "%YAML 1.1\n---\na: yes\n",
    "duplicate-key": "a: 1\na: 2\n",
    "duplicate-key-by-value": "1: a\ntrue: b\n",
    "complex-key": "? [a, b]\n: c\n",
    "two-documents": "a: 1\n---\nb: 2\n",
    "tab-indent": "checks:\n\t- name: a\n",
    "unclosed-flow": "checks: [\n",
    "nested-too-deep": "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 150)),
    "alias-bomb": "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)),
}


def _fast(text: str) -> tuple[Any, dict[Any, int]]:
    """What libyaml's read gives; it must read the document itself."""
    read = fastyaml.read_fast(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
    assert read is not None
    return read


def _outcome(path: Path) -> tuple[Any, dict[Any, int]] | str:
    """What ``read_yaml`` gives: the data and lines, or its error message."""
    try:
        doc = source.read_yaml(path)
    except ConfigError as exc:
        return str(exc)
    return doc.data, doc.lines


def _ruamel(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[Any, int]] | str:
    """The document as ruamel alone reads it (the fast path switched off), or its error."""
    with monkeypatch.context() as patch:
        patch.setattr(fastyaml, "read_fast", lambda _text, **_bounds: None)
        return _outcome(path)


class TestSameAsRuamel:
    @pytest.mark.parametrize("name", FILES)
    def test_the_repositorys_files(self, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each config file of the repository reads to the same data and lines either way."""
        path = REPO / name
        assert _fast(path.read_text()) == _ruamel(path, monkeypatch)

    @pytest.mark.parametrize("text", FAST.values(), ids=FAST.keys())
    def test_read_fast(self, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """libyaml reads these itself, to exactly ruamel's data, value types and lines."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(text)
        fast = _fast(text)
        expected = _ruamel(path, monkeypatch)
        assert fast == expected
        assert repr(fast[0]) == repr(expected[0])  # the same types: True is not 1

    @pytest.mark.parametrize("text", SLOW.values(), ids=SLOW.keys())
    def test_left_to_ruamel(
        self, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A value ruamel reads its own way, or an error it words, is never read by libyaml."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(text)
        assert fastyaml.read_fast(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES) is None
        assert _outcome(path) == _ruamel(path, monkeypatch)
