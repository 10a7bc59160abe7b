"""What the status API needs from the running service, and nothing more.

``monitor.runtime.service.Service`` implements :class:`ServiceView`; ``monitor.api`` codes
against this protocol only, so the API never reaches into the scheduler or the
runner, and the service never imports the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.config.loader import LoadedConfig
from monitor.errors import SmokewatchError
from monitor.runner import CheckRun
from monitor.store import ResultStore
from monitor.telemetry.scrape import Exposition


@dataclass(frozen=True, slots=True)
class StoreLag:
    """How far the store is behind: results waiting in the local spool, and the age of
    the oldest (``None`` when nothing waits).  All zero while the store keeps up."""

    spooled: int = 0
    oldest_age_s: float | None = None

    @property
    def behind(self) -> bool:
        return self.spooled > 0


@dataclass(frozen=True, slots=True)
class Lateness:
    """How late this replica's recent scheduled runs started after their due time."""

    runs: int = 0
    p50_s: float = 0.0
    p95_s: float = 0.0
    max_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ShardState:
    """This replica's view of its region's split (``scheduler.shard``).

    ``members`` maps each live member to how many checks it owns (``""``: checks no
    live member's role takes, which do not run).
    """

    member: str
    role: str
    owned: int
    unowned: int
    members: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberState:
    """One live member of the region as a sharing replica last read it."""

    member: str
    role: str
    heartbeat_at: datetime
    owned: int


@dataclass(frozen=True, slots=True)
class Split:
    """How a region's checks are split among its replicas, as one member sees it.

    ``unowned`` counts checks no live member's role takes (they do not run);
    ``lateness`` is this replica's own recent scheduled runs.
    """

    region: str
    members: tuple[MemberState, ...]
    unowned: int
    lateness: Lateness


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the service can do its job, component by component.

    ``components`` maps a component (``store``, ``scheduler``, ``browser``) to
    ``"ok"`` or a short, sanitized reason it is not ready.  ``role`` is
    ``"leader"`` (this replica runs its region's checks), ``"standby"`` (another
    replica holds the region's lease) or ``"api-only"`` (``serve --no-scheduler``).
    A standby is ready: it serves the API and waits to take over.  ``store_lag`` says
    how many results wait in the spool for the store (it does not affect ``ready``).
    """

    components: dict[str, str] = field(default_factory=dict)
    role: str = "leader"
    store_lag: StoreLag = field(default_factory=StoreLag)
    shard: ShardState | None = None
    lateness: Lateness | None = None

    @property
    def ready(self) -> bool:
        return all(state == "ok" for state in self.components.values())


class UnknownCheck(SmokewatchError, LookupError):  # noqa: N818 -- reads as what it is: "unknown check"
    """``run_now`` was asked for a check the config does not have (or that is disabled)."""


class ServiceView(Protocol):
    """The running service as the API sees it."""

    @property
    def loaded(self) -> LoadedConfig:
        """The config now in force (a reload swaps it)."""

    @property
    def region(self) -> str:
        """This instance's region."""

    @property
    def store(self) -> ResultStore:
        """The result store, open for the service's whole life."""

    async def start(self) -> None:
        """Open the store, start the scheduler (or the standby loop); the API lifespan calls it."""

    async def stop(self) -> None:
        """Stop scheduling, let running checks finish within the grace period, close everything."""

    async def metrics(self, accept: str | None = None) -> Exposition:
        """The current Runtime's registry in the format ``accept`` (an HTTP Accept header)
        prefers, Prometheus text or OpenMetrics, with its gzip bytes and content type;
        rendered off the event loop, once per change."""

    async def readiness(self) -> Readiness:
        """Check the store answers, the scheduler runs, the browser is up if needed."""

    def store_lag(self) -> StoreLag:
        """Results waiting in the local spool for the store (no I/O)."""

    def split(self) -> Split | None:
        """The region's split among replicas (no I/O); ``None`` unless sharing."""

    async def run_now(self, check: str) -> CheckRun:
        """Run one check now in this region, store its result and return it.

        Raises :class:`UnknownCheck` for a check that does not exist, is disabled,
        or does not run in this region.
        """

    async def reload(self) -> LoadedConfig:
        """Re-read the config files and swap them in; returns the new config.

        Raises ``monitor.errors.ConfigError`` and keeps the old config running when the
        new one is invalid.
        """
