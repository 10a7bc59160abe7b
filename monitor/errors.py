"""smokewatch's own exceptions, one hierarchy.

    SmokewatchError
    ├── ConfigError            a config file is invalid: carries every problem found
    ├── UsageError             a command asked for what cannot be: an unknown --check, init
    │                          over existing files
    ├── MonitorError         the service could not do its job (store down, browser missing)
    │   └── ArtifactError      the artifact backend (directory, S3 bucket) failed
    │       └── ArtifactMissing   no such artifact
    └── store.StoreError       (monitor.store.errors) the result store failed

Third-party exceptions are translated where they enter (``raise X from exc``) so
callers only ever catch these.  A failing *target* is never an exception: it is a
result.  The CLI maps ``ConfigError`` and ``MonitorError`` to exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass


class SmokewatchError(Exception):
    """Base of every error smokewatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config file, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None
    item: str | None = None  # e.g. "checks[2] (api-health)" or "alerts[0] (smoke_test_failure)"
    field: str | None = None  # e.g. "expect.json[0].path"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.item:
            parts.append(self.item)
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join([*parts, self.message])


class ConfigError(SmokewatchError):
    """A config could not be loaded.  ``problems`` lists every problem, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} in config"
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))


class UsageError(SmokewatchError):
    """A command asked for something that cannot be done as asked (exit 2, one line)."""


class MonitorError(SmokewatchError):
    """The monitor itself cannot work (as opposed to a target being down)."""


class ArtifactError(MonitorError):
    """The artifact backend could not store, read or delete an artifact."""


class ArtifactMissing(ArtifactError):  # noqa: N818 -- reads as what it is: "artifact missing"
    """No artifact under that key."""
