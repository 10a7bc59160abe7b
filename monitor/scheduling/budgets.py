"""Do each origin's checks fit its request budget at their intervals?  If not, say so and pace.

    loads = origin_loads(config, checks)   # one OriginLoad per budget (origin or bare host)
    problems = budget_problems(loaded)     # ConfigProblem per origin that cannot fit

An origin's *needed* rate is the requests its checks send per second when each runs
once per interval (an ``http`` or ``websocket`` check one request, a ``flow`` one per
step at that origin; retries and rechecks come on top, so they are not counted);
its *allowed* rate is its budget (:mod:`monitor.scheduling.ratelimit`): ``fraction`` of the
declared limit per window.  Browser checks do not draw on the budget.

``validate`` reports an origin whose needed rate exceeds its allowed rate as a problem;
``serve`` and ``run`` log it as a warning at load.  The scheduler then *paces* such an
origin's interval checks (:func:`pace`): their intervals are stretched by needed /
allowed, their runs spread evenly over the stretched interval, and they skip the run
at start.  An origin that fits on average but has more checks than its budget per
window (so checks run at the same moment would exhaust it) is paced the same way
without stretching.  A paced check's run is therefore never turned into ``error``
by the monitor's own overcommitment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config.cron import cron_period_s
from monitor.config.loader import LoadedConfig
from monitor.config.models import CheckCommon, HostLimit
from monitor.config.root import SmokewatchConfig
from monitor.config.source import YamlDocument, read_yaml
from monitor.errors import ConfigError, ConfigProblem
from monitor.scheduling.shares import budget_key, share, window_s
from probes.base import origin_of

_SINGLE_URL_KINDS = frozenset({"http", "websocket"})


@dataclass(frozen=True, slots=True)
class OriginLoad:
    """What one budget's checks ask of it, and what it allows."""

    origin: str  # the budget's key: an origin, or a bare host from rate_limit.hosts
    field: str  # where its limit comes from: rate_limit.hosts.<key> or rate_limit.default
    checks: tuple[str, ...]  # by name, sorted
    needed_per_s: float
    allowed_per_s: float
    burst: int  # requests if every check ran at the same moment
    per_window: int  # requests the budget admits per window

    @property
    def overcommitted(self) -> bool:
        # Relative slack: 60 checks at 1/60 s each add up to a hair over 1 request/s.
        return self.needed_per_s > self.allowed_per_s * (1 + 1e-9)

    @property
    def paced(self) -> bool:
        return self.overcommitted or self.burst > self.per_window

    @property
    def stretch(self) -> float:
        """How much longer the paced checks' intervals get: needed / allowed, at least 1."""
        return max(1.0, self.needed_per_s / self.allowed_per_s)

    def describe(self) -> str:
        return (
            f"{len(self.checks)} check(s) need {_per_minute(self.needed_per_s)} requests a "
            f"minute, the budget allows {_per_minute(self.allowed_per_s)} ({self.field} x "
            f"rate_limit.fraction); serve runs them {self.stretch:.3g}x less often, spread "
            "evenly: declare the host's real limit in rate_limit.hosts, lengthen their "
            "intervals or run fewer checks against it"
        )


def gated_origins(check: CheckCommon) -> list[str]:
    """The origin of each request one run of ``check`` sends through the budget."""
    if check.kind in _SINGLE_URL_KINDS:
        return [origin_of(str(getattr(check, "url", "")))]
    steps = getattr(check, "steps", None) if check.kind == "flow" else None
    return [origin_of(str(step.url)) for step in steps or () if "://" in str(step.url)]


def period_s(config: SmokewatchConfig, check: CheckCommon) -> float:
    """Seconds between two runs of ``check``: its interval, or its cron expression's period."""
    if check.cron is not None:
        return cron_period_s(check.cron)
    return config.settings_for(check).interval.total_seconds()


def origin_loads(config: SmokewatchConfig, checks: Iterable[CheckCommon]) -> list[OriginLoad]:
    """The load on every budget that ``checks`` (the enabled ones) draw on, by key."""
    settings = config.rate_limit
    needed: dict[str, float] = defaultdict(float)
    burst: dict[str, int] = defaultdict(int)
    names: dict[str, set[str]] = defaultdict(set)
    limits: dict[str, HostLimit | None] = {}
    for check in checks:
        period = period_s(config, check)
        if not check.enabled or period <= 0:
            continue
        for origin in gated_origins(check):
            key, configured = budget_key(settings, origin)
            limits[key] = configured
            needed[key] += 1 / period
            burst[key] += 1
            names[key].add(check.name)
    loads = []
    for key in sorted(needed):
        configured = limits[key]
        limit = configured or settings.default
        per_window = share(settings, limit.limit)
        loads.append(
            OriginLoad(
                origin=key,
                field=f"rate_limit.hosts.{key}" if configured else "rate_limit.default",
                checks=tuple(sorted(names[key])),
                needed_per_s=needed[key],
                allowed_per_s=per_window / window_s(limit),
                burst=burst[key],
                per_window=per_window,
            )
        )
    return loads


def budget_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """A problem for each origin whose checks cannot fit its budget, in any region; each
    names the file, the line of its limit (or of its first check), the origin, the
    needed and the allowed rate."""
    config = loaded.config
    regions: list[str | None] = list(config.regions) or [None]
    found: dict[str, OriginLoad] = {}
    for region in regions:
        checks = [c for c in config.checks if region is None or region in (c.regions or regions)]
        for load in origin_loads(config, checks):
            if load.overcommitted and load.origin not in found:
                found[load.origin] = load
    if not found:
        return []
    doc = _document(loaded)
    index = {check.name: i for i, check in enumerate(config.checks)}
    problems = []
    for load in found.values():
        if doc is None:
            line = None
        elif load.field == "rate_limit.default":
            line = doc.line_of(("checks", index[load.checks[0]]))
        else:
            line = doc.line_of(("rate_limit", "hosts", load.origin))
        problems.append(
            ConfigProblem(
                file=str(loaded.path),
                message=load.describe(),
                line=line,
                item=f"origin {load.origin}",
                field=load.field,
            )
        )
    return problems


def _document(loaded: LoadedConfig) -> YamlDocument | None:
    try:
        return read_yaml(loaded.path)
    except (ConfigError, OSError):
        return None


def _per_minute(per_s: float) -> str:
    return f"{per_s * 60:.4g}"
