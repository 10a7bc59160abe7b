"""Chaos through the real alert engine: false alerts, outages caught, latency, notifications.

``cd /work/main && uv run python bench/chaos.py``                  # both scenarios, ~1-2 min
``uv run python bench/chaos.py --scenario chaos --hours 4``         # smaller
``uv run python bench/chaos.py --rules spec --window 5m``           # the spec file's window

Results are synthesised (``bench/chaos_sim.py`` says exactly what is modelled: targets,
faults, the runner's retries and run cap, the scheduler's interval, jitter and
rechecks) and go the way ``smokewatch serve`` sends them: each run is stored in a real
:class:`ResultStore` (SQLite in a temp dir) when it ends, then
``Alerting.after_runs`` evaluates the rules touching its check; the hub's timer
evaluation runs every ``alerting.evaluate_every``.  The clock is controlled: no
sleeping, a day of monitoring takes about a minute.  Notifications are the outbox
rows the engine writes (one notify target, so one row = one notification).

Scenarios:

- ``chaos``: 3 regions, 20 checks every 5 min (>= 10,000 runs in 14 h): a control
  check, 12 services (3 of them flows with a logout cleanup), a parent with 5 checks
  depending on it, and a flapping target.  5 % of requests fail at random (503) with
  +/-30 % latency jitter; one region loses its network for 45 min (every request from
  it times out, its control check too); the parent is down 40 min; 20 outages of
  different lengths (10 min to 2 h; 500s, refused connections and timeouts in turn)
  hit the services; the flapping target goes down for 10 min every 20 min for 2 h.
- ``replay``: the issue's live run: 2 regions, 6 checks every 3 s for 15 min (5 http,
  1 flow with cleanup), ``timeout: 1s``, 5 % 503s and jitter, three 60 s outages of
  the whole target: 500s, dropped connections, timeouts.

Rules: ``--rules spec`` is the spec's ``smoke_test.success < 0.9`` over ``--window``
(default 1m, as in the issue's run), every other rule field at its default.  Features
the engine may or may not have are detected, not assumed: the rule model's fields
(``confirm`` gives ``k`` for the latency formula), the check model's ``control`` and
``depends_on`` (set on the control check and the dependent checks when present) and
``alerting.region_health`` (configured when present).

Accounting (all from the outbox and the engine's transitions): a firing notification
is *explained* by a fault on its check and region that started before it and ended at
most one detection bound (the README formula) earlier; a firing notification nothing
explains is a **false alert**.  Latencies are per (outage, region) alert group:
detection = first firing notification - outage start, recovery = first resolved
notification - outage end, in intervals, against the README's bounds
``I + C + max((j-1)(min(C+R, I) + C), C_h)`` (``j = max(k, f)``, ``C_h`` the holders'
vouch run, ``f`` the failures the window's
ratio needs: :func:`window_failures`) and ``I + C``.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chaos_sim import (
    CheckModel,
    Fault,
    Mode,
    Run,
    RunnerModel,
    Schedule,
    World,
    failing_run_s,
)
from monitor.alerting.hub import Alerting
from monitor.config.loader import LoadedConfig
from monitor.config.models import CheckCommon
from monitor.config.root import config_model
from monitor.config.rules import AlertRule, AlertRules
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.runner import CheckRun
from monitor.scheduling.scheduler import holders_of
from monitor.store import ResultStore
from probes.base import ProbeResult, Status

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
_TMPFS = "/dev/shm"  # tmpfs: the bench measures the engine, not the disk's fsync
NOTIFY = "webhook:ops"
OPENING = frozenset({"firing", "no_data", "flapping"})  # kinds that page someone
CLOSING = frozenset({"resolved"})
# Outage lengths in minutes: all long enough to be confirmed with the default rules.
OUTAGE_MINUTES = (10, 12, 14, 16, 18, 20, 23, 26, 30, 34, 38, 42, 47, 52, 58, 64, 70, 80, 90, 120)
MODES: tuple[Mode, ...] = ("500", "connection", "timeout")


# ---------------------------------------------------------------- features of the engine


@dataclass(frozen=True, slots=True)
class Features:
    """What the engine and config support, found by introspection."""

    confirm: bool
    control: bool
    depends_on: bool
    region_health: bool

    @classmethod
    def detect(cls) -> Features:
        settings = config_model().model_fields["alerting"].annotation  # every section
        region_health = "region_health" in getattr(settings, "model_fields", {})
        return cls(
            confirm="confirm" in AlertRule.model_fields,
            control="control" in CheckCommon.model_fields,
            depends_on="depends_on" in CheckCommon.model_fields,
            region_health=region_health,
        )

    def names(self) -> str:
        on = [
            name
            for name in ("confirm", "control", "depends_on", "region_health")
            if getattr(self, name)
        ]
        return ", ".join(on) or "none (current engine)"


def confirm_k(rule: AlertRule) -> int:
    """``k`` of the rule's confirmation (1 when the engine has none: the first bad window fires)."""
    confirm = getattr(rule, "confirm", None)
    if confirm is None:
        return 1
    failures = getattr(confirm, "failures", None)
    return int(failures) if failures is not None else 1


def window_failures(rule: AlertRule, interval: float) -> int:
    """Failing results one region needs in the window for a success-ratio condition to hold.

    ``success < t`` over ``window`` with ``n = window // interval`` results (at least 1)
    holds from ``floor(n * (1 - t)) + 1`` failures (``<=``: ``ceil(n * (1 - t))``); any
    other condition holds from the first failing result (1).
    """
    cond = rule.condition
    if not cond.metric.endswith("success") or cond.aggregation not in ("ratio", "avg"):
        return 1
    n = max(1, int(rule.window.total_seconds() // interval))
    share = round(n * (1 - cond.threshold), 9)  # 20 * (1 - 0.9) is 2.0000000000000004
    if cond.operator == "<":
        return max(1, math.floor(share) + 1)
    if cond.operator == "<=":
        return max(1, math.ceil(share))
    return 1


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    """Checks, regions, faults and the config text of one chaos scenario."""

    name: str
    regions: list[str]
    checks: list[dict[str, Any]]
    faults: list[Fault]
    duration_s: float
    defaults: dict[str, Any]
    recheck: str = "1m"
    shape: dict[str, str] = field(default_factory=dict)  # check -> http | flow(steps,cleanup)
    outages: list[Fault] = field(default_factory=list)


def _http(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "http", "url": f"http://127.0.0.1:9/{name}", **extra}


def _flow(name: str, steps: int, cleanup: int) -> dict[str, Any]:
    base = "http://127.0.0.1:9"
    return {
        "name": name,
        "kind": "flow",
        "steps": [{"name": f"s{i}", "url": f"{base}/{name}/{i}"} for i in range(steps)],
        "cleanup": [{"name": f"logout{i}", "url": f"{base}/{name}/logout"} for i in range(cleanup)],
    }


def chaos_scenario(
    hours: float,
    outages: int,
    features: Features,
    lengths: Sequence[int] = OUTAGE_MINUTES,
    services: tuple[int, int] = (9, 3),
) -> Scenario:
    """The ``chaos`` scenario over ``hours`` with ``outages`` injected outages (<= 20),
    their lengths in minutes spread over ``lengths``; ``services``: how many http
    services and flows take the outages."""
    duration = hours * 3600.0
    regions = ["eu-west", "us-east", "ap-south"]
    control = _http("control", **({"control": True} if features.control else {}))
    http, flows = services
    targets = [_http(f"svc-{i:02d}") for i in range(1, http + 1)]
    targets += [_flow(f"flow-{i}", 3, 1) for i in range(1, flows + 1)]
    parent = _http("db-api")
    dep = {"depends_on": ["db-api"]} if features.depends_on else {}
    children = [_http(f"app-{i}", **dep) for i in range(1, 6)]
    flappy = _http("flappy")
    checks = [control, *targets, parent, *children, flappy]
    faults: list[Fault] = []
    # The region loss: a quarter in, 45 min (bounded by the run for short runs).
    loss_start, loss_len = duration * 0.25, min(2700.0, duration * 0.15)
    faults.append(
        Fault(
            "region",
            "ap-south network",
            frozenset(c["name"] for c in checks),
            loss_start,
            loss_start + loss_len,
            "timeout",
            regions=frozenset({"ap-south"}),
        )
    )
    parent_start, parent_len = duration * 0.55, min(2400.0, duration * 0.12)
    faults.append(
        Fault(
            "parent",
            "db-api down",
            frozenset({"db-api"} | {c["name"] for c in children}),
            parent_start,
            parent_start + parent_len,
            "500",
        )
    )
    flap_start, cycles = duration * 0.08, max(2, min(6, int(hours)))
    for n in range(cycles):
        start = flap_start + n * 1200.0
        faults.append(
            Fault(
                "flap",
                f"flappy down {n + 1}",
                frozenset({"flappy"}),
                start,
                start + 600.0,
                "connection",
            )
        )
    picked = [lengths[round(i * (len(lengths) - 1) / max(1, outages - 1))] for i in range(outages)]
    begin, end = 3600.0 if hours >= 4 else 600.0, duration - max(m for m in picked) * 60.0 - 1800.0
    slot = max(0.0, end - begin) / max(1, outages)
    injected: list[Fault] = []
    busy: dict[str, float] = defaultdict(float)
    for i, minutes in enumerate(picked):
        name = targets[i % len(targets)]["name"]
        start = max(begin + i * slot, busy[name] + 1800.0)
        if start < loss_start + loss_len + 1800.0 and start + minutes * 60.0 > loss_start - 1800.0:
            start = loss_start + loss_len + 1800.0  # keep the region loss apart from outages
        outage = Fault(
            "outage",
            f"{name} {minutes}m {MODES[i % 3]}",
            frozenset({name}),
            start,
            start + minutes * 60.0,
            MODES[i % 3],
        )
        busy[name] = outage.end
        injected.append(outage)
    faults += injected
    shape = {c["name"]: "flow" if c["kind"] == "flow" else "http" for c in checks}
    return Scenario(
        name="chaos",
        regions=regions,
        checks=checks,
        faults=faults,
        duration_s=max(duration, max(f.end for f in faults) + 3600.0),
        defaults={"interval": "5m", "timeout": "10s"},
        shape=shape,
        outages=injected,
    )


def replay_scenario(minutes: float) -> Scenario:
    """The issue's live run: 6 checks every 3 s, three 60 s outages of three kinds."""
    duration = minutes * 60.0
    checks = [_http(n) for n in ("home", "health", "api-status", "api-items", "slow")]
    checks.append(_flow("login-flow", 2, 1))
    everything = frozenset(c["name"] for c in checks)
    outages = [
        Fault(
            "outage",
            f"target 60s {mode}",
            everything,
            duration * share,
            duration * share + 60.0,
            mode,
        )
        for share, mode in zip((0.2, 0.5, 0.8), MODES, strict=True)
    ]
    return Scenario(
        name="replay",
        regions=["eu-west", "us-east"],
        checks=checks,
        faults=list(outages),
        duration_s=duration,
        defaults={"interval": "3s", "timeout": "1s"},
        shape={c["name"]: c["kind"] for c in checks},
        outages=outages,
    )


# ---------------------------------------------------------------- config and models


def build_config(scenario: Scenario, rule: dict[str, Any], features: Features) -> LoadedConfig:
    alerting: dict[str, Any] = {}
    if features.region_health:
        alerting["region_health"] = {"notify": [NOTIFY], "severity": "critical"}
    config = config_model().model_validate(
        {
            "regions": scenario.regions,
            "defaults": scenario.defaults,
            "scheduler": {"recheck": scenario.recheck},
            "alerting": alerting,
            "checks": scenario.checks,
        }
    )
    rules = AlertRules.model_validate({"alerts": [rule]})
    return LoadedConfig(config, rules, frozenset(), Path("smokewatch.yaml"), None)


def check_models(loaded: LoadedConfig) -> list[CheckModel]:
    """The runner model of every check, from its effective config settings."""
    config = loaded.config
    holders = holders_of(config.checks)
    out: list[CheckModel] = []
    for check in config.checks:
        s = config.settings_for(check)
        runner = RunnerModel(
            interval=s.interval.total_seconds(),
            timeout=s.timeout.total_seconds(),
            retries=s.retries,
            backoff_initial=s.backoff.initial.total_seconds(),
            backoff_factor=s.backoff.factor,
            backoff_max=s.backoff.max.total_seconds(),
            backoff_jitter=s.backoff.jitter,
            retry_on=frozenset(s.retry_on),
        )
        if check.kind == "flow":
            steps = len(getattr(check, "steps", ())) or 1
            cleanup = len(getattr(check, "cleanup", ()))
            out.append(
                CheckModel(
                    check.name,
                    "flow",
                    120.0,
                    runner,
                    steps=steps,
                    cleanup=cleanup,
                    holders=holders[check.name],
                )
            )
        else:
            base = 30.0 if check.name == "control" else 40.0 + 15.0 * (len(out) % 7)
            out.append(CheckModel(check.name, "http", base, runner, holders=holders[check.name]))
    return out


def check_run(run: Run, kind: str) -> CheckRun:
    """What ``monitor.runner.Runner`` returns for ``run``."""
    details: dict[str, Any] = {}
    if run.cause is not None:
        details["cause"] = run.cause
    if run.code is not None:
        details["status_code"] = run.code
    if run.retry_skipped is not None:
        details["retry_skipped"] = run.retry_skipped
    message = "ok"
    if run.status == "fail":
        message = run.cause or f"expected status 200, got {run.code}"
    if run.cleanup_failed:
        details["cleanup"] = {"ok": False, "step": "logout", "message": "503", "status_code": 503}
        message += "; cleanup failed: logout got 503"
    result = ProbeResult(
        status=Status(run.status),
        message=message,
        timings={"total": run.duration_ms},
        details=details,
    )
    return CheckRun(
        check=run.check,
        kind=kind,
        region=run.region,
        run_id=f"{hash((run.check, run.region, run.start)) & (2**128 - 1):032x}",
        started_at=T0 + timedelta(seconds=run.start),
        duration_ms=run.duration_ms,
        attempts=run.attempts,
        result=result,
        wall_ms=run.wall_ms,
        wait_ms=run.wait_ms,
    )


# ---------------------------------------------------------------- driving the engine


@dataclass(frozen=True, slots=True)
class Note:
    """One notification (an outbox row)."""

    at: float
    kind: str
    alert_key: str
    check: str | None
    region: str | None


@dataclass
class Trace:
    """What went in and what came out of the engine."""

    runs: list[Run] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    transitions: list[tuple[float, str, str, str]] = field(default_factory=list)
    evaluations: int = 0
    skipped_fires: int = 0
    seconds: float = 0.0


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _split_key(key: str) -> tuple[str | None, str | None]:
    parts = key.split("/")
    if len(parts) >= 3:
        return parts[1], None if parts[2] == "*" else parts[2]
    if len(parts) == 2:
        return None, parts[1]  # region_unhealthy/<region>
    return None, None


async def drive(scenario: Scenario, loaded: LoadedConfig, seed: int, noise: float) -> Trace:
    """Every run of the scenario through the store and the engine, as ``serve`` does."""
    trace = Trace()
    started = time.perf_counter()
    models = check_models(loaded)
    kinds = {c.name: c.kind for c in loaded.config.checks}
    world = World(scenario.faults, noise=noise)
    schedule = Schedule(
        world,
        models,
        scenario.regions,
        seed,
        scenario.duration_s,
        recheck_s=loaded.config.scheduler.recheck.total_seconds(),
    )
    stream = io.StringIO()
    log = make_logger(Redactor(), fmt="json", stream=stream)
    clock = _Clock()
    every = loaded.config.alerting.evaluate_every.total_seconds()
    tmp_root = _TMPFS if Path(_TMPFS).is_dir() else None  # noqa: ASYNC240 -- once, before any I/O
    with tempfile.TemporaryDirectory(prefix="smokewatch-chaos-", dir=tmp_root) as tmp:
        store = await ResultStore.open(f"sqlite:///{Path(tmp) / 'chaos.db'}")
        hub = Alerting(loaded, store, {}, settings=loaded.config.alerting, log=log, clock=clock)
        try:
            next_timer = every

            async def timer_until(t: float) -> None:
                nonlocal next_timer
                while next_timer <= t:
                    clock.now = T0 + timedelta(seconds=next_timer)
                    _record(trace, next_timer, await hub.evaluate(clock.now))
                    next_timer += every

            for run in schedule.runs():
                await timer_until(run.end)
                clock.now = T0 + timedelta(seconds=run.end)
                done = check_run(run, kinds[run.check])
                await store.add(done.to_record())
                _record(trace, run.end, await hub.after_runs([done]))
                trace.runs.append(run)
            await timer_until(scenario.duration_s)
            rows = await hub.alerts.outbox_rows(limit=1_000_000)
        finally:
            await hub.stop(grace_s=1.0)
            await store.close()
    _raise_on_engine_errors(stream.getvalue())
    for row in sorted(rows, key=lambda r: r.id):
        check, region = _split_key(row.alert_key)
        payload = row.payload
        regions: list[str] = list(payload.get("regions") or ())
        trace.notes.append(
            Note(
                at=(row.created_at - T0).total_seconds(),
                kind=str(payload.get("kind")),
                alert_key=row.alert_key,
                check=payload.get("check") or check,
                region=region if region is not None or len(regions) != 1 else regions[0],
            )
        )
    trace.skipped_fires = schedule.skipped
    trace.seconds = time.perf_counter() - started
    return trace


def _record(trace: Trace, t: float, report: Any) -> None:
    trace.evaluations += 1
    for key, before, after in getattr(report, "transitions", ()):
        trace.transitions.append((t, key, before, after))


def _raise_on_engine_errors(log_text: str) -> None:
    for line in log_text.splitlines():
        if '"alert.evaluation_error"' in line or '"alert.evaluation_failed"' in line:
            raise RuntimeError(f"the engine failed during the bench: {json.loads(line)}")


# ---------------------------------------------------------------- accounting


@dataclass
class Figures:
    """The table of one scenario under one rule set."""

    scenario: str
    rules: str
    features: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (what, value, goal)
    counts: dict[str, float] = field(default_factory=dict)

    def add(self, what: str, value: object, goal: str = "", key: str | None = None) -> None:
        self.rows.append((what, str(value), goal))
        if key is not None and isinstance(value, int | float):
            self.counts[key] = float(value)


def _explains(fault: Fault, note: Note, slack: float, regions: Sequence[str]) -> bool:
    if note.check is None or note.check not in fault.checks:
        return False
    if note.region is not None and fault.regions is not None and note.region not in fault.regions:
        return False
    if note.region is None and fault.regions is not None and not set(regions) & fault.regions:
        return False
    return fault.start <= note.at <= fault.end + slack


def account(
    scenario: Scenario, loaded: LoadedConfig, trace: Trace, rules_name: str, features: Features
) -> Figures:
    rule = loaded.rules.alerts[0]
    k = confirm_k(rule)
    models = {m.name: m for m in check_models(loaded)}
    interval = next(iter(models.values())).runner.interval
    recheck = loaded.config.scheduler.recheck.total_seconds()
    window = rule.window.total_seconds()  # an old-style window drains before resolving

    def c_of(fault: Fault) -> float:
        return max(failing_run_s(models[name], fault.mode) for name in fault.checks)

    # The README's j = max(k, f): confirmation needs k bad runs, the window's ratio f.
    j = max(k, window_failures(rule, interval))

    def holders_run_s(fault: Fault) -> float:
        """``C_h``: the longest passing run of the faulty checks' holders (vouch runs)."""
        held = [h for name in fault.checks for h in models[name].holders]
        return max((models[h].base_ms * 1.3 / 1000.0 for h in held), default=0.0)

    def detect_bound(fault: Fault) -> float:
        c = c_of(fault)
        return interval + c + max((j - 1) * (min(c + recheck, interval) + c), holders_run_s(fault))

    def recover_bound(fault: Fault) -> float:
        return interval + c_of(fault)

    figures = Figures(scenario.name, rules_name, features.names())
    runs = trace.runs
    failed = sum(r.status == "fail" for r in runs)
    figures.add(
        "check runs (regions x checks)",
        f"{len(runs)} ({len(scenario.regions)} x {len(scenario.checks)})",
        key=None,
    )
    figures.counts["runs"] = len(runs)
    rechecks = sum(r.recheck and not r.vouch for r in runs)
    vouches, cleanups = sum(r.vouch for r in runs), sum(r.cleanup_failed for r in runs)
    figures.add(
        "failed runs / rechecks / vouch runs / cleanup failures",
        f"{failed} / {rechecks} / {vouches} / {cleanups}",
    )
    figures.add("rule", f"{rule.condition.text} window {rule.window} (k={k}, j={j} in the formula)")
    opening = [n for n in trace.notes if n.kind in OPENING]
    closing = [n for n in trace.notes if n.kind in CLOSING]
    explained: dict[int, list[Fault]] = {}
    for i, note in enumerate(opening):
        explained[i] = [
            f for f in scenario.faults if _explains(f, note, detect_bound(f), scenario.regions)
        ]
    region_keys = [n for n in opening if n.alert_key.startswith("region_unhealthy/")]
    false = [n for i, n in enumerate(opening) if not explained[i] and n not in region_keys]
    figures.add("false alerts (firing, no fault explains it)", len(false), "0", key="false_alerts")
    if false:
        shown = Counter(n.alert_key for n in false).most_common(4)
        figures.add("  false alerts by alert (top 4)", ", ".join(f"{k_} x{v}" for k_, v in shown))
    # Outages: caught, latency, notifications per group.
    caught = 0
    detect: list[tuple[float, float]] = []  # (latency s, bound s)
    recover: list[tuple[float, float]] = []
    exact = groups = chance = 0
    per_group_open: list[int] = []
    per_group_close: list[int] = []
    for outage in scenario.outages:
        hit = [n for n in opening if _explains(outage, n, detect_bound(outage), scenario.regions)]
        caught += bool(hit)
        for check in sorted(outage.checks):
            for region in scenario.regions:
                groups += 1
                mine = [n for n in hit if n.check == check and n.region in (region, None)]
                horizon = outage.end + recover_bound(outage) + window + 2 * interval
                closes = [
                    n
                    for n in closing
                    if n.check == check
                    and n.region in (region, None)
                    and outage.start <= n.at <= horizon
                ]
                per_group_open.append(len(mine))
                per_group_close.append(len(closes))
                exact += len(mine) == 1 and len(closes) == 1
                if mine:
                    bound = detect_bound(outage)
                    if _chance_holder_failure(trace.runs, models[check], region, outage, mine[0]):
                        # README: a holder's chance failure costs k fresh bad votes after it
                        # passes again: at most (k - 1) intervals + C + C_h more.
                        chance += 1
                        bound += (k - 1) * interval + c_of(outage) + holders_run_s(outage)
                    detect.append((mine[0].at - outage.start, bound))
                if closes:
                    recover.append((closes[0].at - outage.end, recover_bound(outage)))
    figures.add(
        "outages caught",
        f"{caught}/{len(scenario.outages)}",
        f"{len(scenario.outages)}/{len(scenario.outages)}",
    )
    figures.counts["outages_caught"] = caught
    figures.counts["outages"] = len(scenario.outages)
    figures.add("detection, intervals: median / max (bound)", _latency(detect, interval))
    figures.add("  alert groups detected within the bound", _within(detect), "all")
    figures.add(
        "  of which a holder's chance failure delayed (bound + (k-1) I + C + C_h)",
        chance,
        key="chance_holder",
    )
    figures.add("recovery, intervals: median / max (bound I + C)", _latency(recover, interval))
    figures.add("  alert groups resolved within the bound", _within(recover), "all")
    figures.counts["detected"] = len(detect)
    figures.counts["detected_within"] = sum(lat <= bound for lat, bound in detect)
    figures.counts["recovered"] = len(recover)
    figures.counts["recovered_within"] = sum(lat <= bound for lat, bound in recover)
    figures.add(
        "notifications per outage alert group: firing / resolved (mean, max)",
        f"{_mean_max(per_group_open)} / {_mean_max(per_group_close)}",
        "1 / 1",
    )
    figures.add(
        "  alert groups with exactly 1 firing + 1 resolved",
        f"{exact}/{groups}",
        f"{groups}/{groups}",
    )
    figures.counts["exact_groups"] = exact
    figures.counts["groups"] = groups
    _parent_rows(figures, scenario, trace, opening, closing)
    _region_rows(figures, scenario, opening, explained, region_keys)
    _flap_rows(figures, scenario, trace)
    kinds = Counter(n.kind for n in trace.notes)
    figures.add(
        "notifications by kind", ", ".join(f"{k_} {v}" for k_, v in sorted(kinds.items())) or "none"
    )
    figures.counts["notifications"] = len(trace.notes)
    figures.add(
        "evaluations / skipped fires / bench seconds",
        f"{trace.evaluations} / {trace.skipped_fires} / {trace.seconds:.0f}",
    )
    return figures


def _chance_holder_failure(
    runs: Sequence[Run], model: CheckModel, region: str, outage: Fault, note: Note
) -> bool:
    """Did a holder of the check fail in ``region`` between the outage's start and its alert,
    with no fault on the holder to explain it (noise)?"""
    return any(
        r.check in model.holders
        and r.region == region
        and r.status == "fail"
        and outage.start <= r.start <= note.at
        and r.check not in outage.checks
        for r in runs
    )


def _parent_rows(
    figures: Figures, scenario: Scenario, trace: Trace, opening: list[Note], closing: list[Note]
) -> None:
    parents = [f for f in scenario.faults if f.kind == "parent"]
    if not parents:
        return
    fault = parents[0]
    horizon = fault.end + 3600.0
    inside = [n for n in opening if n.check in fault.checks and fault.start <= n.at <= horizon]
    parent_open = sum(n.check == "db-api" for n in inside)
    parent_close = sum(n.check == "db-api" and fault.start <= n.at <= horizon for n in closing)
    children = sum(n.check != "db-api" for n in inside)
    inhibited = sum(after == "inhibited" for _, _, _, after in trace.transitions)
    regions = len(scenario.regions)
    figures.add(
        "parent outage: parent firing / resolved",
        f"{parent_open} / {parent_close}",
        f"{regions} / {regions} (1 per region)",
    )
    figures.add(
        "parent outage: dependent checks' firing notifications",
        children,
        "0",
        key="children_notified",
    )
    figures.add(
        "inhibited alerts (recorded, not notified)",
        inhibited,
        f"{5 * regions} (5 children x {regions} regions)",
        key="inhibited",
    )


def _region_rows(
    figures: Figures,
    scenario: Scenario,
    opening: list[Note],
    explained: dict[int, list[Fault]],
    region_keys: list[Note],
) -> None:
    losses = [f for f in scenario.faults if f.kind == "region"]
    if not losses:
        return
    by_loss = sum(
        1
        for i, n in enumerate(opening)
        if explained[i] and all(f.kind == "region" for f in explained[i]) and n not in region_keys
    )
    figures.add(
        "region loss: per-check firing notifications", by_loss, "0", key="region_loss_alerts"
    )
    figures.add("region-unhealthy alerts (firing)", len(region_keys), "1", key="region_unhealthy")


def _flap_rows(figures: Figures, scenario: Scenario, trace: Trace) -> None:
    flaps = [f for f in scenario.faults if f.kind == "flap"]
    if not flaps:
        return
    notes = [n for n in trace.notes if n.check == "flappy"]
    kinds = Counter(n.kind for n in notes)
    regions = len(scenario.regions)
    # The first down period is an incident like any other (firing + resolved): nothing
    # says yet that it will flap.  The second makes the third change: one `flapping`,
    # then one `resolved` when it has settled (README, "Flapping").
    figures.add(
        f"flapping target ({len(flaps)} down periods): notifications",
        f"{len(notes)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items())) or 'none'})",
        f"4 per region ({4 * regions}: firing, resolved, flapping, resolved)",
    )
    figures.counts["flapping_notifications"] = len(notes)
    figures.counts["flapping_kind"] = kinds["flapping"]
    others = sum(n.kind == "flapping" and n.check != "flappy" for n in trace.notes)
    figures.add("flapping notifications for other checks", others, "0", key="flapping_elsewhere")


def _latency(pairs: list[tuple[float, float]], interval: float) -> str:
    if not pairs:
        return "n/a"
    values = [p[0] / interval for p in pairs]
    bound = max(p[1] for p in pairs) / interval
    return f"{statistics.median(values):.2f} / {max(values):.2f} ({bound:.2f})"


def _within(pairs: list[tuple[float, float]]) -> str:
    return f"{sum(lat <= bound for lat, bound in pairs)}/{len(pairs)}"


def _mean_max(values: list[int]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.fmean(values):.2f}, {max(values)}"


def format_table(figures: Figures) -> str:
    head = f"== {figures.scenario} | rules: {figures.rules} | engine features: {figures.features}"
    width = max(len(w) for w, _, _ in figures.rows)
    vwidth = max(len(v) for _, v, _ in figures.rows)
    lines = [head, f"{'':{width}}  {'value':{vwidth}}  goal"]
    lines += [f"{w:{width}}  {v:{vwidth}}  {g}".rstrip() for w, v, g in figures.rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- entry point


def spec_rule(window: str) -> dict[str, Any]:
    return {
        "name": "smoke_test_failure",
        "condition": "smoke_test.success < 0.9",
        "window": window,
        "severity": "critical",
        "notify": [NOTIFY],
    }


async def measure(name: str, args: argparse.Namespace) -> Figures:
    features = Features.detect()
    if name == "chaos":
        scenario = chaos_scenario(args.hours, args.outages, features)
    else:
        scenario = replay_scenario(args.minutes)
    loaded = build_config(scenario, spec_rule(args.window), features)
    trace = await drive(scenario, loaded, args.seed, args.noise)
    return account(scenario, loaded, trace, f"{args.rules} (window {args.window})", features)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", choices=("chaos", "replay", "both"), default="both")
    parser.add_argument(
        "--rules",
        choices=("spec",),
        default="spec",
        help="spec: smoke_test.success < 0.9 over --window, other fields default",
    )
    parser.add_argument("--window", default="1m")
    parser.add_argument("--hours", type=float, default=14.0, help="chaos: simulated hours")
    parser.add_argument("--outages", type=int, default=20, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--minutes", type=float, default=15.0, help="replay: simulated minutes")
    parser.add_argument(
        "--noise", type=float, default=0.05, help="share of requests failing at random"
    )
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    names = ("chaos", "replay") if args.scenario == "both" else (args.scenario,)
    for name in names:
        figures = asyncio.run(measure(name, args))
        print(format_table(figures))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
