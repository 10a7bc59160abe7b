"""The shape of ``smokewatch.yaml``: pydantic models, every one ``extra="forbid"``.

Kind-specific check fields live with their probe (``probes/<kind>.py``); this module
holds what every check shares and the file's other sections.  ``checks.py`` joins the
two into one discriminated union over ``kind``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, SecretStr, WithJsonSchema, field_validator

from monitor.config.cron import cron_trigger
from monitor.config.durations import Duration, format_duration

# Defined in the leaf monitor.modeltypes (settings modules import them from there); the
# aliases re-export them, so code that imports them from here keeps working.
from monitor.modeltypes import NAME_PATTERN as NAME_PATTERN  # noqa: PLC0414
from monitor.modeltypes import Strict as Strict  # noqa: PLC0414

# Floors: a shorter interval burns a core and floods the logs; a shorter timeout
# cannot even open a connection.
MIN_INTERVAL = timedelta(seconds=1)
MIN_TIMEOUT = timedelta(milliseconds=10)
MIN_LEASE_POLL = timedelta(milliseconds=100)
RetryOn = Literal["connection", "timeout", "5xx", "429", "fail"]


def _status_as_text(value: object) -> object:
    """YAML reads a bare ``429`` as a number; as a retry reason it is the text ``"429"``
    (``429.0`` too: JSON, and so the schema, cannot tell the two apart)."""
    return "429" if value == 429 and not isinstance(value, bool) else value


# A retry reason as the config writes it: ``429`` may be bare, as the README shows it.
RetryReason = Annotated[
    RetryOn,
    BeforeValidator(_status_as_text),
    WithJsonSchema({"enum": [*get_args(RetryOn), 429]}),
]


class Backoff(Strict):
    """Exponential backoff between attempts: ``initial * factor**n``, capped, with jitter."""

    initial: Duration = Field(
        timedelta(seconds=1), description="wait before the first retry (+/- 20 % jitter)"
    )
    factor: float = Field(
        2.0, ge=1.0, le=10.0, description="each retry waits this many times longer than the last"
    )
    max: Duration = Field(timedelta(seconds=30), description="the longest wait between retries")
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="+/- fraction of each delay")


def at_least(value: timedelta | None, floor: timedelta, what: str) -> timedelta | None:
    """``value`` unless it is below ``floor``: then a ``ValueError`` naming both."""
    if value is not None and value < floor:
        raise ValueError(f"{what} must be at least {_written(floor)} (got {_written(value)})")
    return value


def floor_of(field: str, floor: timedelta) -> Any:
    """A validator refusing ``field`` below ``floor`` (``None``, where allowed, passes)."""

    def check(cls: type, value: timedelta | None) -> timedelta | None:
        return at_least(value, floor, field)

    return field_validator(field)(classmethod(check))


def _written(value: timedelta) -> str:
    if timedelta(0) < value < timedelta(seconds=1):
        return f"{value.total_seconds() * 1000:g}ms"
    return format_duration(value)


class CheckDefaults(Strict):
    """Values a check takes unless it says otherwise."""

    interval: Duration = Field(timedelta(minutes=30), description="at least 1s")
    timeout: Duration = Field(timedelta(seconds=30), description="at least 10ms")
    retries: int = Field(2, ge=0, le=10, description="extra attempts after the first")
    backoff: Backoff = Field(
        Backoff(), description="waits between retries: initial * factor^n, capped at max"
    )
    retry_on: tuple[RetryReason, ...] = Field(
        ("connection", "timeout", "5xx", "429"),
        description="what a retry may fix; 'fail' retries any failure (not recommended)",
    )

    _interval_floor = floor_of("interval", MIN_INTERVAL)

    _timeout_floor = floor_of("timeout", MIN_TIMEOUT)


class CheckCommon(Strict):
    """The fields every check has, whatever its kind."""

    name: Annotated[
        str,
        Field(pattern=NAME_PATTERN, description="unique name: letters, digits, '-', '_' and '.'"),
    ]
    kind: str
    description: str = Field("", description="free text shown in the API and on the status page")
    enabled: bool = Field(True, description="false: the check is kept but never runs")
    interval: Duration | None = Field(
        None, description="time between runs under serve (default: defaults.interval)"
    )
    cron: str | None = Field(None, description="a 5-field cron expression; replaces interval")
    timeout: Duration | None = Field(
        None, description="hard limit per attempt (default: defaults.timeout)"
    )
    retries: int | None = Field(
        None, ge=0, le=10, description="extra attempts after the first (default: defaults.retries)"
    )
    backoff: Backoff | None = Field(
        None, description="waits between retries (default: defaults.backoff)"
    )
    retry_on: tuple[RetryReason, ...] | None = Field(
        None, description="what a retry may fix (default: defaults.retry_on)"
    )
    regions: tuple[str, ...] | None = Field(None, description="run only in these regions")
    tags: dict[str, str] = Field(
        default_factory=dict, description="labels (key: value) for the API and run --tag"
    )
    group: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the status page section this check is shown in (its own roll-up state)",
    )
    public: bool = Field(
        True,
        description="false: only bearer-token holders see this check on the status page, "
        "its badges and per-check page, /api/v1/status and /api/v2/*.json",
    )
    control: bool = Field(
        False,
        description="a known-good target: while it fails in a region, that region's other "
        "results are stored as 'suspect' and one region_unhealthy alert goes out instead",
    )
    depends_on: tuple[str, ...] = Field(
        (),
        description="checks this one depends on: while an alert of one of them is active, "
        "this check's new alerts are recorded as 'inhibited' and not notified",
    )

    @field_validator("cron")
    @classmethod
    def _cron_has_five_fields(cls, value: str | None) -> str | None:
        if value is not None:
            cron_trigger(value)  # raises ValueError naming what is wrong
        return value

    _interval_floor = floor_of("interval", MIN_INTERVAL)

    _timeout_floor = floor_of("timeout", MIN_TIMEOUT)


class Storage(Strict):
    url: str = Field(
        "sqlite:///smokewatch.db",
        description="SQLite path/URL or postgresql:// URL; SMOKEWATCH_DATABASE_URL overrides",
    )
    retention: Duration = Field(
        timedelta(days=90), description="results older than this are deleted"
    )
    spool_path: str | None = Field(
        None,
        description="where serve keeps results while the store is unreachable; default "
        "<SQLite file>.spool, or ./smokewatch.spool for PostgreSQL",
    )
    spool_max: int = Field(
        10_000, ge=1, description="results the spool holds at most; later ones are dropped"
    )


class HostLimit(Strict):
    """A target host's declared rate limit: ``limit`` requests per ``window``."""

    limit: int = Field(gt=0, description="requests the host allows per window")
    window: Duration = Field(timedelta(minutes=1), description="the host's rate-limit window")


class RateLimit(Strict):
    """How hard the monitor may hit each host: a ``fraction`` of its declared limit.

    The limit is declared here per host, or learnt from ``X-RateLimit-Limit`` headers;
    ``default`` applies to hosts that declare nothing.
    """

    fraction: float = Field(
        0.1, gt=0.0, le=1.0, description="share of a host's declared limit smokewatch may use"
    )
    default: HostLimit = Field(
        HostLimit(limit=600), description="the limit assumed for hosts not listed under hosts"
    )
    hosts: dict[str, HostLimit] = Field(
        default_factory=dict,
        description="keys: an origin (http://host:port) or a bare host (groups all its ports)",
    )
    learn_from_headers: bool = Field(
        True, description="lower an origin's budget from its own X-RateLimit-Limit headers"
    )
    max_wait: Duration = Field(
        timedelta(seconds=10), description="longest a request waits for budget before failing"
    )


class RunnerSettings(Strict):
    concurrency: int = Field(
        8, ge=1, le=256, description="checks other than browser checks running at once"
    )
    browser_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="browser checks running at once: a pool apart, so slow journeys never "
        "hold up HTTP checks (measured: about 1 CPU and 50 MB PSS each; see README, Sizing)",
    )
    user_agent: str = Field(
        "smokewatch/{version} (synthetic monitoring; +https://github.com/smokewatch)",
        description="User-Agent of every request (marks synthetic traffic)",
    )
    headers: dict[str, str] = Field(
        default_factory=lambda: {"X-Synthetic-Monitor": "smokewatch"},
        description="added to every request so targets can tell synthetic traffic apart",
    )
    artifacts_dir: str = Field(
        "smokewatch-artifacts",
        description="where failure artifacts are written before they are stored",
    )


class BrowserSettings(Strict):
    """The shared Chromium of browser checks."""

    executable_path: str | None = Field(
        None,
        description="Chromium to launch; default: Playwright's download, then /usr/bin/chromium",
    )
    max_checks: int = Field(200, ge=1, description="restart the browser after this many checks")
    keep_artifacts: int = Field(50, ge=0, description="failure screenshots/traces to keep")
    launch_timeout: Duration = Field(
        timedelta(seconds=30), description="bound on starting Chromium"
    )


class Logging(Strict):
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="the lowest level logged"
    )
    format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="json (a line per event), console (for people), auto: json without a TTY",
    )


def _web_url(value: str, *, schemes: tuple[str, ...]) -> str:
    """``value`` if it is an absolute URL with a host and one of ``schemes``."""
    scheme, _, rest = value.partition(":")
    if scheme.lower() not in schemes:
        raise ValueError(f"must start with {' or '.join(s + ':' for s in schemes)}")
    web = scheme.lower() in ("http", "https")
    if not rest.lstrip("/") or (web and not rest.startswith("//")):
        raise ValueError("must be an absolute URL with a host, e.g. https://example.com/logo.svg")
    if any(c.isspace() or c in "\"'<>" for c in value):
        raise ValueError("must not contain spaces, quotes or angle brackets")
    return value


class BrandLink(Strict):
    """One link in the status pages' header."""

    name: str = Field(min_length=1, max_length=60, description="the link's text")
    url: str = Field(
        max_length=2000, description="where it goes: an http(s) URL or a mailto: address"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _web_url(value, schemes=("https", "http", "mailto"))


class Branding(Strict):
    """How the status pages look beyond ``api.title``: a logo, header links and footer text.

    All of it is text, escaped in the page; the logo's origin is the only one the pages'
    Content-Security-Policy lets them load from."""

    logo_url: str | None = Field(
        None,
        max_length=2000,
        description="an http(s) URL of a logo shown beside the title (about 32 px high)",
    )
    logo_alt: str = Field(
        "", max_length=120, description="the logo's text for screen readers; empty: decorative"
    )
    links: tuple[BrandLink, ...] = Field(
        (), max_length=8, description="links in the header, e.g. the company site or support"
    )
    footer: str = Field(
        "", max_length=500, description="plain text shown at the foot of every status page"
    )

    @field_validator("logo_url")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        return None if value is None else _web_url(value, schemes=("https", "http"))


class ApiSettings(Strict):
    """The status API and status page of ``smokewatch serve``."""

    token: SecretStr | None = Field(
        None, description="bearer token for write endpoints; without one, writes are refused"
    )
    public_reads: bool = Field(
        True, description="false: read endpoints need the bearer token too (/health never does)"
    )
    cors_origins: tuple[str, ...] = Field(
        (), description="origins allowed to read the API from a browser; '*' allows any"
    )
    title: str = Field("smokewatch status", description="the status page's title")
    branding: Branding = Field(
        default_factory=Branding,
        description="a logo, header links and footer text on the status pages",
    )
    public_artifacts: bool = Field(
        False,
        description="true: anyone may list and fetch failure artifacts, and the public "
        "status page links them; false: they need the bearer token",
    )
    public_url: str | None = Field(
        None, description="where users reach the status page (links in Statuspage JSON, alerts)"
    )
    cache: Duration = Field(
        timedelta(seconds=2), description="how long status answers may be served from memory"
    )
    page_cache: Duration = Field(
        timedelta(seconds=30),
        description="how long the HTML status page may be served from memory (it is ~100x "
        "dearer to build than a status answer; its bars are per day)",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="a request body larger than this is refused with 413",
    )
    request_timeout: Duration = Field(
        timedelta(seconds=10),
        description="a request's headers and body must arrive within this (else 408 and the "
        "connection is closed); at least 1s; takes effect on restart",
    )

    _request_timeout_floor = floor_of("request_timeout", timedelta(seconds=1))


class SchedulerSettings(Strict):
    """How ``smokewatch serve`` schedules checks."""

    jitter: Duration = Field(
        timedelta(seconds=30),
        description="spread of the fixed per-check delay after each slot (derived from the "
        "check's name), at most half the check's interval; wider for a crowd that shares a "
        "period (at most runner.concurrency runs due a second); 0s: no spread",
    )
    misfire_grace: Duration = Field(
        timedelta(minutes=5), description="a run this late is still run; later ones are skipped"
    )
    shutdown_grace: Duration = Field(
        timedelta(seconds=30), description="how long running checks may finish on SIGTERM"
    )
    run_at_start: bool = Field(True, description="run every check once when the service starts")
    lease_poll: Duration = Field(
        timedelta(seconds=5),
        description="how often a standby replica tries to take its region's scheduler lease "
        "(at least 100ms)",
    )
    recheck: Duration = Field(
        timedelta(minutes=1),
        description="after a failed run, run the check again this much later instead of "
        "waiting a whole interval (at most once per interval; 0 disables)",
    )
    shard: bool = Field(
        False,
        description="replicas of a region on PostgreSQL share its checks (each runs its "
        "share); false: one replica leads and runs them all, the others stand by",
    )
    heartbeat: Duration = Field(
        timedelta(seconds=5),
        description="with shard: each replica writes a heartbeat twice per this interval, "
        "and a dead replica's checks move to the others within two of them (at least 1s)",
    )

    _lease_poll_floor = floor_of("lease_poll", MIN_LEASE_POLL)
    _heartbeat_floor = floor_of("heartbeat", timedelta(seconds=1))
