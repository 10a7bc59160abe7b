"""``${VAR}`` interpolation in config values, with secrets tracked for redaction.

Forms, inside any string value:

- ``${VAR}``: the environment variable.  An unset one becomes :data:`UNSET_PLACEHOLDER`
  (a URL, so the rest of the file still validates) and is listed in ``unset``: the loader
  makes it an error, or, for commands that only read the config, a warning.
- ``${VAR:-default}``: the default when unset or empty.
- ``${file:/run/secrets/name}``: the file's content, trailing newline removed (a secret file).
- ``$$``: a literal ``$``.

Values are substituted after YAML parsing, so an environment value can never inject
YAML structure.  Every substituted value that is secret is collected so the runtime
can redact it from messages, logs and the store: values from secret files, from
variables named in the config's ``secrets:`` list, and from variables whose names
look like credentials (``*PASSWORD*``, ``*TOKEN*``, ``*SECRET*``, ``*KEY*``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.source import Loc

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|DSN", re.I)
# Shorter values ("1", "on") would redact half of every message; a secret that short
# is not a secret anyway.
_MIN_SECRET_LEN = 4
# Stands in for an unset variable: most ``${VAR}`` are URLs, hosts or secrets, and this
# passes as any of them, so one unset variable does not hide the file's other problems.
UNSET_PLACEHOLDER = "https://unset.invalid"


@dataclass(slots=True)
class Interpolation:
    """The outcome of interpolating one document."""

    data: Any = None
    secrets: set[str] = field(default_factory=set)
    problems: list[tuple[Loc, str]] = field(default_factory=list)
    unset: list[tuple[Loc, str]] = field(default_factory=list)  # (where, variable name)


def interpolate(
    data: Any,
    env: Mapping[str, str],
    *,
    base_dir: Path,
    secret_names: frozenset[str] = frozenset(),
) -> Interpolation:
    """Substitute every ``${...}`` in ``data``'s strings; collect problems and unset
    variables rather than stop."""
    interpolator = _Interpolator(env, base_dir, secret_names)
    interpolator.out.data = interpolator.walk(data, ())
    return interpolator.out


@dataclass(slots=True)
class _Interpolator:
    env: Mapping[str, str]
    base_dir: Path
    secret_names: frozenset[str]
    out: Interpolation = field(default_factory=Interpolation)

    def walk(self, node: Any, loc: Loc) -> Any:
        if isinstance(node, dict):
            return {k: self.walk(v, (*loc, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, (*loc, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "$" in node:
            return _TOKEN.sub(lambda m: self.replace(m, loc), node)
        return node

    def replace(self, match: re.Match[str], loc: Loc) -> str:
        if match.group(0) == "$$":
            return "$"
        expr = match.group(1)
        if expr.startswith("file:"):
            return self.read_secret_file(expr.removeprefix("file:"), loc)
        name, has_default, default = expr.partition(":-")
        if not _NAME.match(name):
            self.out.problems.append((loc, f"invalid variable reference '${{{expr}}}'"))
            return ""
        value = self.env.get(name)
        if value is None or (has_default and value == ""):
            if not has_default:
                self.out.unset.append((loc, name))
                return UNSET_PLACEHOLDER
            value = default
        if name in self.secret_names or _SECRET_NAME.search(name):
            self.remember(value)
        return value

    def read_secret_file(self, raw: str, loc: Loc) -> str:
        path = Path(raw)
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            self.out.problems.append((loc, f"cannot read secret file {path}: {exc.strerror}"))
            return ""
        self.remember(value)
        return value

    def remember(self, value: str) -> None:
        if len(value) >= _MIN_SECRET_LEN:
            self.out.secrets.add(value)
