"""What the demo target knows: its test account, faults, sessions, rate limits and counters.

One :class:`TargetState` per app (on ``app.state.target``).  Tests may read and
mutate it directly in-process, or through the ``/_control/`` endpoints.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.requests import HTTPConnection

from examples.demo_target.faults import Faults

DEFAULT_EMAIL = "smoke-test-basic@example.com"
DEFAULT_PASSWORD = "demo-password"  # the demo target's own test account


def utc_now_iso() -> str:
    """Now as ``2024-01-27T10:00:00Z``."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Session:
    """One logged-in session: an API bearer token or a browser cookie."""

    token: str
    email: str
    kind: Literal["api", "cookie"]
    started_at: str = field(default_factory=utc_now_iso)
    ended_at: str | None = None


@dataclass(slots=True)
class SessionStore:
    """Active sessions, and a record of every session that was logged out."""

    active: dict[str, Session] = field(default_factory=dict)
    ended: list[Session] = field(default_factory=list)
    opened: int = 0

    def open(self, email: str, kind: Literal["api", "cookie"]) -> Session:
        session = Session(token=secrets.token_urlsafe(24), email=email, kind=kind)
        self.active[session.token] = session
        self.opened += 1
        return session

    def get(self, token: str | None) -> Session | None:
        return self.active.get(token) if token else None

    def close(self, token: str | None) -> Session | None:
        """End a session; ``None`` if the token was not an active one."""
        session = self.active.pop(token, None) if token else None
        if session is not None:
            session.ended_at = utc_now_iso()
            self.ended.append(session)
        return session


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the client's window resets


@dataclass(slots=True)
class RateLimiter:
    """A per-client fixed window: ``limit`` requests per ``window_s`` from a client's first."""

    limit: int = 100
    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def hit(self, client: str) -> RateDecision:
        now = self.clock()
        start, used = self.windows.get(client, (now, 0))
        if now - start >= self.window_s:
            start, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self.windows[client] = (start, used)
        # window - elapsed, not (start + window) - now: the latter rounds 60.0 up to
        # 60.000000000000007 on a large monotonic clock, and ceil makes it 61.
        reset_s = max(1, math.ceil(self.window_s - (now - start)))
        return RateDecision(allowed, self.limit, max(0, self.limit - used), reset_s)


def _bump(table: dict[str, dict[str, int]], path: str, method: str) -> None:
    by_method = table.setdefault(path, {})
    by_method[method] = by_method.get(method, 0) + 1


@dataclass(slots=True)
class Stats:
    """Counters the target keeps so tests can see what reached it."""

    requests: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> method -> n
    synthetic_requests: int = 0  # requests carrying X-Synthetic-Monitor
    unexpected_writes: dict[str, dict[str, int]] = field(default_factory=dict)
    faults_injected: dict[str, int] = field(default_factory=dict)
    failed_logins: int = 0
    csrf_rejected: int = 0  # form logins refused for a missing or wrong CSRF token
    enhancements: int = 0
    rate_limited: int = 0
    websocket_connections: int = 0
    websocket_messages: int = 0

    def count_request(self, path: str, method: str, *, synthetic: bool) -> None:
        _bump(self.requests, path, method)
        self.synthetic_requests += synthetic

    def count_unexpected_write(self, path: str, method: str) -> None:
        _bump(self.unexpected_writes, path, method)

    def count_fault(self, fault: str) -> None:
        self.faults_injected[fault] = self.faults_injected.get(fault, 0) + 1

    def request_count(self, path: str, method: str | None = None) -> int:
        """Requests that reached ``path`` (with ``method``, or any)."""
        by_method = self.requests.get(path, {})
        return by_method.get(method, 0) if method else sum(by_method.values())


@dataclass
class TargetState:
    """Everything one demo target app holds; the defaults are a healthy target."""

    email: str = DEFAULT_EMAIL
    password: str = DEFAULT_PASSWORD
    version: str = "1.2.3"
    plan: str = "basic"
    faults: Faults = field(default_factory=Faults)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    sessions: SessionStore = field(default_factory=SessionStore)
    stats: Stats = field(default_factory=Stats)
    seed: int | None = None  # the random draws' seed (``--seed``) unless faults.flaky_seed is set
    _flaky: random.Random = field(init=False, repr=False)
    _jitter: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._reseed(self.seed)

    def _reseed(self, seed: int | None) -> None:
        """Restart the draws: one generator for failures, one for jitter (``None``: unseeded)."""
        self._flaky = random.Random(None if seed is None else f"flaky/{seed}")
        self._jitter = random.Random(None if seed is None else f"jitter/{seed}")

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults (``None``: healthy) and apply keyword changes.

        The random draws go on where they were, unless a new ``flaky_seed`` restarts them.
        """
        before = self.faults.flaky_seed
        merged = (faults or Faults()).model_dump() | changes
        self.faults = Faults.model_validate(merged)
        if self.faults.flaky_seed is not None and self.faults.flaky_seed != before:
            self._reseed(self.faults.flaky_seed)
        return self.faults

    def next_flaky(self) -> bool:
        """Draw for one request under ``flaky_percent``: whether it should fail."""
        return self._flaky.random() * 100 < self.faults.flaky_percent

    def next_jitter_s(self) -> float:
        """Draw one request's extra delay under ``jitter_ms``, in seconds."""
        return self._jitter.uniform(0, self.faults.jitter_ms) / 1000

    def check_credentials(self, email: str, password: str) -> bool:
        right_email = email.strip().lower() == self.email.lower()
        return secrets.compare_digest(password.encode(), self.password.encode()) and right_email

    def reset_stats(self) -> None:
        """Forget counters, sessions and rate-limit windows; keep faults."""
        self.stats = Stats()
        self.sessions = SessionStore()
        self.limiter.windows.clear()

    def reset(self) -> None:
        """Back to a healthy target with no history; the draws restart from ``seed``."""
        self.set_faults()
        self._reseed(self.seed)
        self.reset_stats()

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON, for ``GET /_control/stats``."""
        s = self.stats
        return {
            "requests": s.requests,
            "total_requests": sum(sum(m.values()) for m in s.requests.values()),
            "synthetic_requests": s.synthetic_requests,
            "logins": self.sessions.opened,
            "failed_logins": s.failed_logins,
            "csrf_rejected": s.csrf_rejected,
            "logouts": len(self.sessions.ended),
            "active_sessions": len(self.sessions.active),
            "logged_out": [{"email": x.email, "kind": x.kind} for x in self.sessions.ended],
            "enhancements": s.enhancements,
            "rate_limited": s.rate_limited,
            "unexpected_writes": s.unexpected_writes,
            "unexpected_writes_total": sum(sum(m.values()) for m in s.unexpected_writes.values()),
            "faults_injected": s.faults_injected,
            "websocket_connections": s.websocket_connections,
            "websocket_messages": s.websocket_messages,
            "faults": self.faults.model_dump(),
        }


def state_of(conn: HTTPConnection) -> TargetState:
    """The :class:`TargetState` of the app serving a request or websocket."""
    state = conn.app.state.target
    if not isinstance(state, TargetState):
        raise TypeError("app.state.target is not a TargetState; build the app with create_app()")
    return state
