"""Fixtures for the engine, outbox and deliverer tests: a real store on each backend, a
controlled clock, configs built in memory, and a real webhook receiver on loopback."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from ruamel.yaml import YAML

from monitor.alerting.hub import Alerting
from monitor.alerting.notification import Notifier
from monitor.config.alerting import AlertingSettings
from monitor.config.loader import LoadedConfig
from monitor.config.root import config_model
from monitor.config.rules import AlertRules
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.store import OutboxRecord, ResultRecord, ResultStore
from probes.base import Status
from tests.alerting.webhook import WebhookReceiver

# A Monday, 01:00 UTC: maintenance windows in the tests start at 02:00.
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
SPEC_RULES = Path(__file__).resolve().parents[2] / "alert-rules.yaml"
CHECKS: list[dict[str, Any]] = [
    {"name": "api", "kind": "http", "url": "http://127.0.0.1:9/api/v1/health"},
    {"name": "status", "kind": "http", "url": "http://127.0.0.1:9/api/v1/status"},
    {"name": "homepage", "kind": "browser", "url": "http://127.0.0.1:9/"},
]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, minutes: float) -> datetime:
        self.now = at(minutes)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class RealClock(Clock):
    """The wall clock, for tests that wait in real time (``set`` still moves evaluations)."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def read_rules(text: str) -> AlertRules:
    return AlertRules.model_validate(YAML(typ="safe").load(text) or {})


def loaded_config(
    rules: AlertRules | str,
    *,
    checks: list[dict[str, Any]] | None = None,
    regions: tuple[str, ...] = (),
    public_url: str | None = None,
) -> LoadedConfig:
    """A LoadedConfig built in memory (no files): the checks above and ``rules``."""
    config = config_model().model_validate(
        {
            "regions": list(regions),
            "checks": CHECKS if checks is None else checks,
            "api": {"public_url": public_url},
        }
    )
    parsed = read_rules(rules) if isinstance(rules, str) else rules
    return LoadedConfig(config, parsed, frozenset(), Path("smokewatch.yaml"), None)


def result(
    check: str = "api",
    region: str = "eu",
    minutes: float = 0.0,
    status: str = "pass",
    *,
    attempts: int = 1,
    total_ms: float = 50.0,
    load_ms: float | None = None,
    kind: str | None = None,
) -> ResultRecord:
    """A stored result; ``kind`` follows the check (browser for ``homepage``)."""
    kind = kind or ("browser" if check == "homepage" else "http")
    timings = {"total": total_ms}
    if load_ms is not None:
        timings["load"] = load_ms
    return ResultRecord(
        run_id=uuid4().hex,  # each stored run is its own (results are unique per run)
        check=check,
        kind=kind,
        region=region,
        started_at=at(minutes),
        duration_ms=total_ms,
        status=Status(status),
        attempts=attempts,
        message=f"{check} {status}",
        timings=timings,
        assertions=[],
        details={},
        artifacts=[],
    )


@pytest.fixture
def log_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def log(log_stream: io.StringIO) -> Any:
    return make_logger(Redactor(), fmt="json", stream=log_stream)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1 that records what it is sent."""
    running = WebhookReceiver().start()
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Harness:
    """One Alerting hub over a real store, driven by a controlled clock."""

    store: ResultStore
    clock: Clock
    alerting: Alerting

    async def add(self, *records: ResultRecord) -> None:
        for record in records:
            await self.store.add(record)

    async def evaluate(self, minutes: float) -> Any:
        return await self.alerting.evaluate(self.clock.set(minutes))

    async def outbox(self) -> list[OutboxRecord]:
        return sorted(await self.alerting.alerts.outbox_rows(limit=1000), key=lambda r: r.id)


MakeHarness = Callable[..., Awaitable[Harness]]


@dataclass
class _Made:
    hubs: list[Alerting] = field(default_factory=list)


@pytest.fixture
async def make_harness(store: ResultStore, log: Any) -> AsyncIterator[MakeHarness]:
    """``await make_harness(loaded, notifiers={...}, settings=...)`` -> a :class:`Harness`."""
    made = _Made()

    async def make(
        loaded: LoadedConfig,
        *,
        notifiers: Mapping[str, Notifier] | None = None,
        settings: AlertingSettings | None = None,
        on: ResultStore | None = None,
        clock: Clock | None = None,
    ) -> Harness:
        clock = clock or Clock()
        hub = Alerting(
            loaded,
            on or store,
            notifiers or {},
            settings=settings or AlertingSettings(),
            log=log,
            clock=clock,
        )
        made.hubs.append(hub)
        return Harness(on or store, clock, hub)

    yield make
    for hub in made.hubs:
        await hub.stop(grace_s=1.0)
