"""Read a YAML file into plain Python data, remembering the line of every key and item.

Line numbers let errors point at ``smokewatch.yaml:14`` rather than just a field name.

The file is read within bounds, so hostile or broken input is refused quickly and
cheaply, each problem naming the file and line:

- at most ``MAX_BYTES`` (1 MiB), and UTF-8 (``file:line: not UTF-8``);
- nesting at most ``MAX_DEPTH`` (100) levels;
- at most ``MAX_NODES`` (100,000) values once every alias is expanded, so an alias
  bomb ("billion laughs") is refused from the event stream before anything is built;
- only YAML's core tags (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``,
  ``!!map``, ``!!seq``): no ``!!python/...``, ``!!binary``, ``!!timestamp`` or local tags.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import fastyaml
from monitor.errors import ConfigError, ConfigProblem, SmokewatchError

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


class _RefusedError(SmokewatchError):
    """The document breaks a bound; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_yaml(path: Path) -> YamlDocument:
    """Parse ``path`` within bounds; raise ``ConfigError`` naming the file and line."""
    text = _read_text(path)
    try:
        _check_flow_depth(text)
        # libyaml when it reads as ruamel would (the common case, ~30x faster), else None
        fast = fastyaml.read_fast(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
        if fast is not None:
            return YamlDocument(path=path, data=fast[0], lines=fast[1])
        doc = YamlDocument(path=path, data=None)
        doc.data = _Plain(doc.lines).convert(_read_with_ruamel(text), ())
    except _RefusedError as exc:
        raise _error(path, exc.message, exc.line) from None
    except RecursionError:  # the bounds above make this unreachable; never a traceback anyway
        raise _error(path, f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise _error(path, f"invalid value: {exc}") from None
    return doc


def _read_with_ruamel(text: str) -> Any:
    """``text`` through ruamel (round-trip nodes); its errors as :class:`_RefusedError`.

    Imported here: most files take the libyaml path, and ruamel costs ~20 ms to import.
    """
    from ruamel.yaml import YAML  # noqa: PLC0415
    from ruamel.yaml.error import MarkedYAMLError, YAMLError  # noqa: PLC0415
    from ruamel.yaml.reader import ReaderError  # noqa: PLC0415

    yaml = YAML(typ="rt")
    try:
        _check_events(yaml.parse(text))
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _RefusedError(f"invalid YAML: {exc.problem or exc.context}", line) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"invalid YAML: {exc.reason} (character {exc.character!r})"
        raise _RefusedError(problem, line) from None
    except YAMLError as exc:
        raise _RefusedError(f"invalid YAML: {exc}", None) from None


def _error(path: Path, message: str, line: int | None = None) -> ConfigError:
    return ConfigError([ConfigProblem(str(path), message, line=line)])


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _error(path, "file not found") from None
    except IsADirectoryError:
        raise _error(path, "is a directory, not a file") from None
    except OSError as exc:
        raise _error(path, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise _error(path, f"larger than {MAX_BYTES // 1024} KiB: not a config file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(path, "not UTF-8", data.count(b"\n", 0, exc.start) + 1) from None


# What opens or closes a flow collection, and what hides brackets: quoted strings, comments.
_FLOW = re.compile(r"""[\[\]{}]|"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|(?:^|(?<=\s))#[^\n]*""", re.M)


def _check_flow_depth(text: str) -> None:
    """Refuse ``[[[[...`` past ``MAX_DEPTH`` before the YAML scanner sees it.

    The scanner's cost grows with flow depth on every token (about a second for
    thousands of levels); this linear pass refuses such input in milliseconds.
    """
    depth = 0
    for match in _FLOW.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise _RefusedError(f"nested too deeply (at most {MAX_DEPTH} levels)", line)
        elif char in "]}":
            depth = max(0, depth - 1)


def _check_events(events: Iterable[Any]) -> None:
    """Refuse deep nesting, non-core tags and alias expansion past ``MAX_NODES``.

    Works on the parser's event stream, which is flat: the size of every anchored
    node is counted once, and each alias adds that size without expanding anything.
    """
    from ruamel.yaml.events import (  # noqa: PLC0415 -- loaded with ruamel, when used
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    counter = _Counter()
    for event in events:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            _check_tag(event.tag, line)
        if isinstance(event, CollectionStartEvent):
            counter.open(event.anchor, line)
        elif isinstance(event, CollectionEndEvent):
            counter.close(line)
        elif isinstance(event, ScalarEvent):
            counter.add(counter.anchored(event.anchor, 1), line)
        elif isinstance(event, AliasEvent):
            counter.add(counter.sizes.get(event.anchor, 1), line)


def _check_tag(tag: object, line: int | None) -> None:
    if tag is not None and str(tag) not in CORE_TAGS:
        raise _RefusedError(
            f"tag {str(tag)!r} is not allowed: only YAML core tags (str, int, float, bool, "
            "null, map, seq)",
            line,
        )


@dataclass(slots=True)
class _Counter:
    """Values per open collection and per anchor, as if every alias were expanded."""

    sizes: dict[str, int] = field(default_factory=dict)
    stack: list[tuple[str | None, int]] = field(default_factory=list)
    total: int = 0

    def open(self, anchor: str | None, line: int | None) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _RefusedError(f"nested too deeply (at most {MAX_DEPTH} levels)", line)
        self.stack.append((anchor, 1))

    def close(self, line: int | None) -> None:
        anchor, size = self.stack.pop()
        self.add(self.anchored(anchor, size), line)

    def anchored(self, anchor: str | None, size: int) -> int:
        if anchor is not None:
            self.sizes[anchor] = size
        return size

    def add(self, size: int, line: int | None) -> None:
        if self.stack:
            anchor, count = self.stack[-1]
            count += size
            self.stack[-1] = (anchor, count)
        else:
            self.total += size
            count = self.total
        if count > MAX_NODES:
            raise _RefusedError(
                f"too many values once aliases are expanded (more than {MAX_NODES:,}): "
                "an alias bomb?",
                line,
            )


@dataclass(slots=True)
class _Plain:
    """Ruamel's round-trip nodes -> plain dicts, lists and scalars, recording lines."""

    lines: dict[Loc, int]
    nodes: int = 0

    def convert(self, node: Any, loc: Loc) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: PLC0415

        self.nodes += 1
        if self.nodes > MAX_NODES:  # _check_events stops this first; a second guard
            raise _RefusedError(f"too many values (more than {MAX_NODES:,})", self.lines.get(loc))
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key, value in node.items():
                key_loc = (*loc, str(key))
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    self.lines[key_loc] = node.lc.key(key)[0] + 1
                out[str(key)] = self.convert(value, key_loc)
            return out
        if isinstance(node, CommentedSeq):
            items: list[Any] = []
            for index, value in enumerate(node):
                item_loc = (*loc, index)
                with contextlib.suppress(KeyError, TypeError, AttributeError, IndexError):
                    self.lines[item_loc] = node.lc.item(index)[0] + 1
                items.append(self.convert(value, item_loc))
            return items
        if isinstance(node, str):
            return str(node)  # ruamel's ScalarString subclasses -> plain str
        if isinstance(node, bool | int | float) or node is None:
            return node
        return str(node)  # other YAML scalars: keep the text form
