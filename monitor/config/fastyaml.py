"""The common case of :func:`monitor.config.source.read_yaml` at libyaml's speed.

Ruamel's pure-Python round-trip loader costs about 1.4 ms per check of a config
(1.4 s for 1,000 checks, more than the checks' own probes). libyaml composes the same
file in about 3 % of that, with the line of every node. This module reads a file
through libyaml only when the answer is certainly the one ruamel would give, and
otherwise says "not me" (``None``) so the caller reads it with ruamel as before:

- scalars are resolved as YAML 1.2 (ruamel's schema: ``yes``/``on`` are strings,
  ``true``/``false`` booleans, ``~``/``null`` null); a plain scalar that ruamel would
  read as anything but a plain integer, a plain decimal, a boolean, null or a string
  (octal, hex, ``1_000``, ``1e3``, ``.inf``, timestamps, ``<<`` merges, ``=``) is left
  to ruamel, as is any explicit tag, a ``%YAML`` directive or a non-scalar key;
- every bound of ``read_yaml`` and every YAML error is left to ruamel, which words
  the message: a file past ``MAX_DEPTH``, past ``MAX_NODES`` once aliases are counted,
  with a duplicate key, or that libyaml cannot read at all.

So a valid config reads the same either way (the same data and the same lines), and
an invalid one fails with the same ``file:line`` message as before.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.errors import SmokewatchError

try:
    import yaml
    from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

    _Loader: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else None
except ImportError:  # pragma: no cover -- pyyaml is a dependency; ruamel still reads
    _Loader = None

Loc = tuple[str | int, ...]  # as monitor.config.source's (which imports this module)
Read = tuple[Any, dict[Loc, int]]  # the data and the line of every key and item

_PLAIN = "smokewatch:plain"  # the tag given to a plain scalar without an explicit tag
_QUOTED = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True}
_BOOLS |= {"false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
# What ruamel's YAML 1.2 resolver reads as other than a string (its float, int, merge,
# timestamp, value and yaml patterns): left to ruamel unless _INT or _DECIMAL matched.
_RESOLVED = re.compile(
    r"""[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+
    |<<|=|!|&|\*
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*""",
    re.X,
)


class _NotMineError(SmokewatchError):
    """This document is ruamel's to read (an error to word, or a rare feature)."""


if _Loader is not None:

    class _PlainLoader(_Loader):  # type: ignore[misc]
        """libyaml's composer, with plain untagged scalars marked for YAML 1.2 resolution."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                return _PLAIN if implicit[0] else _QUOTED
            return _MAP if kind is MappingNode else _SEQ


def read_fast(text: str, *, max_depth: int, max_nodes: int) -> Read | None:
    """``text`` read as ruamel would read it (data and lines), or ``None``: ask ruamel.

    ``max_depth`` and ``max_nodes`` are ``read_yaml``'s bounds: a document past one is
    left to ruamel, which refuses it in its own words.
    """
    if _Loader is None or "%YAML" in text:
        return None
    try:
        loader = _PlainLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None
    lines: dict[Loc, int] = {}
    if root is None:
        return None, lines
    try:
        _Sizes(max_depth, max_nodes).size(root, 0)
        return _value(root, (), lines), lines
    except _NotMineError:
        return None


class _Sizes:
    """Values per node as if every alias were expanded, each shared node counted once."""

    def __init__(self, max_depth: int, max_nodes: int) -> None:
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.known: dict[int, int] = {}

    def size(self, node: Node, depth: int) -> int:
        if depth >= self.max_depth and not isinstance(node, ScalarNode):
            raise _NotMineError
        known = self.known.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                total += self.size(key, depth + 1) + self.size(value, depth + 1)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += self.size(item, depth + 1)
        if total > self.max_nodes:
            raise _NotMineError
        self.known[id(node)] = total
        return total


def _value(node: Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if isinstance(node, MappingNode):
        if node.tag != _MAP:
            raise _NotMineError
        out: dict[str, Any] = {}
        seen: set[Any] = set()  # as ruamel compares keys: 1 and true are the same key
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _NotMineError
            raw = _scalar(key_node)
            key = str(raw)
            if key in out or raw in seen:
                raise _NotMineError  # ruamel words the duplicate key
            seen.add(raw)
            key_loc = (*loc, key)
            lines[key_loc] = key_node.start_mark.line + 1
            out[key] = _value(value_node, key_loc, lines)
        return out
    if node.tag != _SEQ:
        raise _NotMineError
    items: list[Any] = []
    for index, item in enumerate(node.value):
        item_loc = (*loc, index)
        lines[item_loc] = item.start_mark.line + 1
        items.append(_value(item, item_loc, lines))
    return items


def _scalar(node: ScalarNode) -> Any:
    value: str = node.value
    if node.tag == _QUOTED:
        return value
    if node.tag != _PLAIN:
        raise _NotMineError  # an explicit tag: checked and constructed by ruamel
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        return float(value)
    if _RESOLVED.fullmatch(value):
        raise _NotMineError
    return value
