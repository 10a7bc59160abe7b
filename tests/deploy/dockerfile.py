"""Read the Dockerfile and .dockerignore the way the tests need them: no Docker engine here.

``parse_dockerfile`` splits a Dockerfile into stages of instructions (continuation lines
joined, comment lines dropped, ``RUN --flag`` options separated), which is all of the
format this project's Dockerfile uses (no heredocs, no ``ONBUILD``).  ``DockerIgnore``
applies .dockerignore patterns with Docker's rules for the pattern forms this project
uses: ``*`` and ``?`` within one path segment, ``**`` across segments, ``!`` re-includes,
the last matching pattern wins, and a pattern that matches a directory matches what is
inside it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    flags: tuple[str, ...]  # leading --options (RUN --mount=..., COPY --from=...)
    args: str  # the rest, as written (continuations joined)
    line: int

    @property
    def exec_form(self) -> list[str]:
        """The JSON-array (exec) form of ENTRYPOINT/CMD/HEALTHCHECK CMD; fails otherwise."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = re.sub(r"^(--\S+\s+)*CMD\s+", "", text)
        value = json.loads(text)
        assert isinstance(value, list), f"line {self.line}: {self.keyword} is not in exec form"
        return [str(v) for v in value]

    @property
    def words(self) -> list[str]:
        return shlex.split(self.args)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]

    def env(self, outer: Mapping[str, str] | None = None) -> dict[str, str]:
        """The stage's ENV, ``$VAR`` expanded against ``outer``, ARG defaults and earlier keys."""
        return self._scope(outer)[0]

    def _scope(self, outer: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
        values: dict[str, str] = {}
        scope = dict(outer or {})
        for ins in self.instructions:
            if ins.keyword not in ("ENV", "ARG"):
                continue
            for word in ins.words:
                if "=" not in word:
                    continue
                key, value = word.split("=", 1)
                expanded = _VAR.sub(lambda m: scope.get(m.group(1) or m.group(2), ""), value)
                scope[key] = expanded
                if ins.keyword == "ENV":
                    values[key] = expanded
        return values, scope

    def labels(self) -> dict[str, str]:
        """LABELs, with ARG defaults expanded (what a build without --build-arg records)."""
        scope = self._scope(None)[1]
        out: dict[str, str] = {}
        for ins in self.all("LABEL"):
            for word in ins.words:
                key, value = word.split("=", 1)
                out[key] = _VAR.sub(lambda m: scope.get(m.group(1) or m.group(2), ""), value)
        return out

    def workdir(self) -> str:
        return self.last("WORKDIR").args.strip()


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def base_image(self, stage: Stage) -> str:
        return _VAR.sub(lambda m: self.global_args.get(m.group(1) or m.group(2), ""), stage.base)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # comments (and parser directives) are dropped, also inside continuations
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        yield start, " ".join(part for part in buffer if part)
        buffer = []
    assert not buffer, "the Dockerfile ends inside a continuation"


def parse_dockerfile(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, text in _logical_lines(path.read_text()):
        keyword, _, rest = text.partition(" ")
        keyword = keyword.upper()
        flags: list[str] = []
        while rest.startswith("--") and keyword in ("RUN", "COPY", "ADD", "FROM"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
        ins = Instruction(keyword, tuple(flags), rest.strip(), line)
        if keyword == "FROM":
            words = ins.words
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            assert keyword == "ARG", f"line {line}: only ARG may come before the first FROM"
            key, _, value = rest.partition("=")
            global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append(ins)
    return Dockerfile(global_args, stages)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class DockerIgnore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (negated, pattern)

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        rules = []
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line.removeprefix("!").strip().strip("/")
            rules.append((negated, _pattern_regex(pattern)))
        return cls(tuple(rules))

    def excluded(self, relative: str) -> bool:
        """Whether a path relative to the context root is left out of the build context."""
        parts = relative.strip("/").split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex in self.rules:
            if any(regex.fullmatch(c) for c in candidates):
                excluded = not negated
        return excluded

    def context_files(self, root: Path, source: str) -> Iterator[Path]:
        """The files under ``root/source`` that reach the build context."""
        start = root / source
        paths = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
        for path in paths:
            if not self.excluded(path.relative_to(root).as_posix()):
                yield path
