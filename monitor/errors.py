"""smokewatch's own exceptions: one hierarchy, drawn whole here.

    SmokewatchError              every error smokewatch raises on purpose
    ├── ConfigError              a config file is invalid: carries every problem found
    ├── UsageError               a command asked for what cannot be (an unknown --check, init
    │                            over existing files)
    ├── ApiError                 (monitor.api.errors) a 4xx/5xx answer, its message safe to show
    ├── ExportError              (monitor.alerting.export) a rule has no Prometheus equivalent
    ├── RegistryError            a probe or channel registers what cannot work (at import:
    │                            a programming error, never a user's)
    ├── UnknownCheck             (monitor.contract) run-now of a check the config lacks; also
    │                            a ``LookupError``
    ├── StoreError               (monitor.store.errors) the result store failed
    │   └── StoreUnavailable     its database cannot be reached (down, refused, locked)
    ├── MonitorError             the service could not do its job (browser missing, a channel down)
    │   ├── ArtifactError        the artifact backend (directory, S3 bucket) failed
    │   │   └── ArtifactMissing  no such artifact
    │   ├── LeaseError           (monitor.scheduling.leader) the region's lease could not be tried
    │   ├── SpoolBusyError       (monitor.runtime.spool) every spool slot of a sharing replica taken
    │   ├── DeliveryError        (monitor.alerting.notification) a notifier could not deliver
    │   └── TelemetryRefusedError  (monitor.telemetry.base) a metrics backend refused a batch
    ├── _RefusedError            (monitor.config.source) private: becomes a ConfigError
    ├── _NotMineError            (monitor.config.fastyaml) private: ruamel reads the file
    ├── _ComputedValueError      (monitor.alerting.templating) private: becomes an ExportError
    └── _HeadTooLargeError       (monitor.api.limits) private: the request is answered 400

    ProbeError                   (probes.errors) the probes' own root, see that module
    ├── DuplicateKindError       (probes) two probes registered under one kind
    ├── GateClosed               (probes.base) a host's request budget admits no request in time
    ├── LedgerUnavailable        (probes.heartbeat) the heartbeat pings cannot be read
    ├── BrowserError             (probes.browser_pool) the shared browser failed
    │   ├── BrowserUnavailableError
    │   └── BrowserCrashedError
    └── HttpProbeError           (probes.http) ``send`` got no usable answer
        ├── RequestFailedError
        │   └── RequestTimeoutError
        └── InvalidRequestError

``probes/`` never imports ``monitor/``, so ``ProbeError`` is a root of its own rather
than a child of ``SmokewatchError``; the two meet at one boundary, the runner, which
turns a ``ProbeError`` (or anything else) escaping a probe into an ``error`` result:
a ``ProbeError`` never reaches a caller of ``monitor``.  ``GateClosed`` and
``LedgerUnavailable`` are raised by monitor-side implementations of probe protocols
(the rate gate, the heartbeat ledger) because the probe is the one that catches them.

Third-party exceptions are translated where they enter (``raise X from exc``) so
callers only ever catch these.  A failing *target* is never an exception: it is a
result.  The CLI maps every ``SmokewatchError`` to exit code 2.
``tests/test_errors.py`` checks that this drawing matches the classes.
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


class RegistryError(SmokewatchError):
    """A registry entry cannot work (a probe field shadowing a common one, two channels of
    one name): raised when the registry is built, naming the entry and the field."""


class MonitorError(SmokewatchError):
    """The monitor itself cannot work (as opposed to a target being down)."""


class ArtifactError(MonitorError):
    """The artifact backend could not store, read or delete an artifact."""


class ArtifactMissing(ArtifactError):  # noqa: N818 -- reads as what it is: "artifact missing"
    """No artifact under that key."""
