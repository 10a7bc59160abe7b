"""Chaos in real time: real processes, real faults, real notifications, chaos.py's table.

``cd /work/main && uv run python bench/chaos_live.py``                 # 5 min, 3 outages
``uv run python bench/chaos_live.py --minutes 1 --outages 1``           # the test's run

What runs, all on 127.0.0.1: a throwaway PostgreSQL cluster (the test suite's
``tests.support.postgres``, through ``bench.store.throwaway_postgres``) as the shared
store; the demo target (``python -m examples.demo_target``) with 5 % seeded random 503s
(``flaky_percent``, ``flaky_seed``) and 0..100 ms latency jitter all along; a real SMTP
server (aiosmtpd) and a webhook receiver (``tests.alerting.webhook.WebhookReceiver``);
two ``smokewatch serve`` processes (regions ``eu-west`` and ``us-east``) on the one
store, the way the issue's live run did.  Checks: 6 every 3 s with ``timeout: 1s``
(5 http checks, 3 with JSON assertions, and a login flow whose logout is a cleanup
step), every other setting at its default but the backoff, plus a control check (``control: true``)
on a second, always healthy target (``bench.fast_target``): every failing run makes
each ``serve`` run it at once (a vouch run) and the engine holds new alerts until it
has passed, so the table also shows that the region self-health machinery never
delays or invents an alert (no ``region_unhealthy``: it would count as false).
Backoff: ``initial: 200ms`` instead of 1 s.  The schedule is compressed 600x (3 s for the
default 30 min), and the run cap (80 % of the interval, 2.4 s) left room for one retry
of the default backoff (1 s, then 2 s), where a real 30 min schedule always makes both.
The two retries a chance 503 gets in production then fit here too: with one, two chance
failures in a row after an outage's resolution (the 1m window still below 0.9 from the
outage) re-fired a group in about one run of seven.
Rule: the spec's ``smoke_test.success < 0.9`` over 1m notifying an e-mail address and
``webhook:ops``.

Outages: ``--outages`` (1-3) real faults switched through ``PATCH /_control/faults``:
500s (``status: 500``), dropped connections (``down``), timeouts (``slow_ms: 5000``),
each lasting ``min(60, 0.45 x D/N)`` s in the middle of its D/N slot, so quiet gaps
separate them.  Their start and end are the moments the switch was answered.

Accounting: :func:`bench.chaos.account`, once per channel, from what the receivers got
(arrival time, kind, check, region); detection and recovery bounds are the README's
formula with ``C`` from ``bench.chaos_sim.failing_run_s`` (the effective config's
timeout, retries, backoff and run cap).  Extra rows: duplicates per notification key
(Message-ID, Idempotency-Key), ``error`` results, the gaps between one check's runs in
one region (monitor-side lateness), and from the API the alerts still firing and the
incidents opened.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``bench.*``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.chaos import MODES, Features, Figures, Note, Scenario, Trace, account, format_table
from bench.chaos_sim import Fault, Mode, Run
from bench.procs import HOST, Target, free_port
from bench.serveproc import Serve, get
from bench.store import throwaway_postgres
from examples.demo_target import DEFAULT_EMAIL, DEFAULT_PASSWORD
from monitor.config.loader import LoadedConfig, load_config
from monitor.store import ResultStore
from tests.alerting.webhook import WebhookReceiver

REGIONS = ("eu-west", "us-east")
RULE = "smoke_test_failure"
MAILTO = "oncall@example.com"
INTERVAL_S = 3.0
SETTLE_S = 5.0  # after the schedule: notifications still in flight arrive
FAULT_ON: dict[Mode, dict[str, Any]] = {
    "500": {"status": 500},
    "connection": {"down": True},
    "timeout": {"slow_ms": 5000},
}
HEALTHY = {"status": None, "down": False, "slow_ms": 0}
_FACT = re.compile(r"^(Check|Regions):\s+(.+)$", re.MULTILINE)

CONFIG = """\
# Written by bench/chaos_live.py.
regions: [{regions}]
defaults:
  interval: 3s
  timeout: 1s
  backoff: {{initial: 200ms}}   # time compressed 600x: see BACKOFF in the module docstring
storage:
  url: {store}
rate_limit:
  hosts:
    "{base}": {{limit: 100000, window: 1m}}   # the bench's own target: never the bottleneck
    "{canary}": {{limit: 100000, window: 1m}}
logging:
  format: json
  level: info
alerting:
  channels:
    email: {{host: 127.0.0.1, port: {smtp}, security: none, from_address: sw@example.com}}
    webhooks: {{ops: {{url: "{hook}"}}}}
alert_rules: alert-rules.yaml
checks:
  - {{name: canary, kind: http, url: "{canary}/fast", control: true}}
  - {{name: health, kind: http, url: "{base}/health",
     expect: {{json: [{{path: $.status, equals: healthy}}]}}}}
  - {{name: api-health, kind: http, url: "{base}/api/v1/health",
     expect: {{json: [{{path: $.status, equals: healthy}}]}}}}
  - {{name: api-status, kind: http, url: "{base}/api/v1/status",
     expect: {{json: [{{path: $.services.database, equals: healthy}}]}}}}
  - {{name: home, kind: http, url: "{base}/"}}
  - {{name: fast, kind: http, url: "{base}/fast"}}
  - name: login-flow
    kind: flow
    steps:
      - name: login
        method: POST
        allow_write: true
        url: "{base}/api/auth/login"
        json: {{email: "{user}", password: "{password}"}}
        expect: {{status: [200]}}
        capture: {{token: {{json: $.access_token}}}}
      - name: profile
        url: "{base}/api/user/profile"
        headers: {{Authorization: "Bearer {{{{ token }}}}"}}
        expect: {{json: [{{path: $.email, equals: "{user}"}}]}}
    cleanup:
      - name: logout
        method: POST
        allow_write: true
        url: "{base}/api/auth/logout"
        headers: {{Authorization: "Bearer {{{{ token }}}}"}}
        expect: {{status: [200, 204]}}
"""

RULES = f"""\
alerts:
  - name: {RULE}
    condition: smoke_test.success < 0.9
    window: 1m
    severity: critical
    notify: [{MAILTO}, "webhook:ops"]
"""


# ---------------------------------------------------------------- receivers


@dataclass(frozen=True, slots=True)
class Delivered:
    """One notification as a channel's receiver got it."""

    at: float  # arrival, wall clock
    key: str  # Message-ID or Idempotency-Key
    kind: str
    check: str | None
    region: str | None


class Mailbox:
    """aiosmtpd in its own thread on a free loopback port; keeps every message with its arrival."""

    def __init__(self) -> None:
        self.port = free_port()
        self._got: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname=HOST, port=self.port)

    async def handle_DATA(  # noqa: N802 -- the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        with self._lock:
            self._got.append((time.time(), content))
        return "250 OK"

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def delivered(self) -> list[Delivered]:
        out = []
        with self._lock:
            got = list(self._got)
        for at, raw in got:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            body = msg.get_body(preferencelist=("plain",))
            text = str(body.get_content()) if body is not None else ""
            facts = {k: v.strip() for k, v in _FACT.findall(text.replace("\r\n", "\n"))}
            regions = facts.get("Regions", "all")
            out.append(
                Delivered(
                    at=at,
                    key=str(msg["Message-ID"]),
                    kind=str(msg["X-Smokewatch-Kind"]),
                    check=facts.get("Check"),
                    region=None if "," in regions or regions == "all" else regions.strip(),
                )
            )
        return out


def hook_delivered(receiver: WebhookReceiver) -> list[Delivered]:
    """The webhook's notifications: Alertmanager JSON, one alert each."""
    out = []
    for got in list(receiver.received):
        alert = got.body["alerts"][0]
        labels = alert["labels"]
        out.append(
            Delivered(got.at, got.key, alert["status"], labels.get("check"), labels.get("region"))
        )
    return out


# ---------------------------------------------------------------- the run


@dataclass
class Live:
    """What one live run produced."""

    t0: float
    outages: list[Fault]
    channels: dict[str, list[Delivered]]
    runs: list[Run]
    errors: int
    gaps: list[float]  # seconds between consecutive runs of one check in one region
    firing_at_end: int
    incidents: int
    loaded: LoadedConfig
    checks: list[str] = field(default_factory=list)


def outage_plan(minutes: float, outages: int) -> list[tuple[float, float, Mode]]:
    """(start, end, mode) of each outage in seconds from t0: centred in equal slots."""
    duration = minutes * 60.0
    slot = duration / outages
    length = min(60.0, 0.45 * slot)
    return [
        (i * slot + (slot - length) / 2, i * slot + (slot + length) / 2, MODES[i % len(MODES)])
        for i in range(outages)
    ]


def _faults(target: Target, change: dict[str, Any]) -> None:
    import httpx  # noqa: PLC0415 -- the bench's only HTTP client use

    response = httpx.patch(target.url("/_control/faults"), json=change, timeout=10.0)
    response.raise_for_status()


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


@contextmanager
def _processes(
    tmp: Path, seed: int
) -> Iterator[tuple[Target, Mailbox, WebhookReceiver, list[Serve], Path]]:
    with ExitStack() as stack:
        store = stack.enter_context(throwaway_postgres())
        target = stack.enter_context(Target("demo"))
        canary = stack.enter_context(Target("tiny"))  # the control check's known-good target
        _faults(target, {"flaky_percent": 5, "flaky_seed": seed, "jitter_ms": 100})
        mailbox = stack.enter_context(_closing(Mailbox().start()))
        hook = stack.enter_context(_closing(WebhookReceiver().start()))
        config = tmp / "smokewatch.yaml"
        (tmp / "alert-rules.yaml").write_text(RULES)
        config.write_text(
            CONFIG.format(
                regions=", ".join(REGIONS),
                store=store,
                base=target.url("").rstrip("/"),
                canary=canary.url("").rstrip("/"),
                smtp=mailbox.port,
                hook=hook.url,
                user=DEFAULT_EMAIL,
                password=DEFAULT_PASSWORD,
            )
        )
        serves = [
            Serve(config, region=region, log=tmp / f"serve-{region}.log", scheduler=True)
            for region in REGIONS
        ]
        for serve in serves:
            stack.callback(serve.stop)
        with ThreadPoolExecutor(len(serves)) as pool:  # both start at once: a cold start is slow
            list(pool.map(Serve.start, serves))
        yield target, mailbox, hook, serves, config


@contextmanager
def _closing(thing: Mailbox | WebhookReceiver) -> Iterator[Any]:
    try:
        yield thing
    finally:
        thing.stop()


def run_live(minutes: float, outages: int, seed: int) -> Live:
    """Start everything, switch the outages on schedule, collect what arrived and what ran."""
    with (
        tempfile.TemporaryDirectory(prefix="smokewatch-chaos-live-") as tmp,
        _processes(Path(tmp), seed) as (target, mailbox, hook, serves, config),
    ):
        t0 = time.time()
        faults: list[Fault] = []
        loaded = load_config(config, {})
        everything = frozenset(c.name for c in loaded.config.checks if not c.control)
        for start, end, mode in outage_plan(minutes, outages):
            _sleep_until(t0 + start)
            _faults(target, FAULT_ON[mode])
            began = time.time() - t0
            _sleep_until(t0 + end)
            _faults(target, HEALTHY)
            faults.append(
                Fault(
                    "outage",
                    f"target {end - start:.0f}s {mode}",
                    everything,
                    began,
                    time.time() - t0,
                    mode,
                )
            )
        _sleep_until(t0 + minutes * 60.0 + SETTLE_S)
        firing = json.loads(get(serves[0].port, "/api/v1/alerts?state=firing")[1] or b"{}")
        since = datetime.fromtimestamp(t0, UTC).isoformat().replace("+00:00", "Z")
        incidents = json.loads(get(serves[0].port, f"/api/v1/incidents?since={since}")[1] or b"{}")
        runs, errors, gaps = asyncio.run(_read_runs(loaded, t0))
        return Live(
            t0=t0,
            outages=faults,
            channels={"e-mail": mailbox.delivered(), "webhook": hook_delivered(hook)},
            runs=runs,
            errors=errors,
            gaps=gaps,
            firing_at_end=len(firing.get("alerts", [])),
            incidents=len(incidents.get("incidents", [])),
            loaded=loaded,
            checks=sorted(everything),
        )


async def _read_runs(loaded: LoadedConfig, t0: float) -> tuple[list[Run], int, list[float]]:
    """Every stored run since t0 as a :class:`Run`, the ``error`` count and the run gaps."""
    since = datetime.fromtimestamp(t0, UTC)
    runs: list[Run] = []
    errors = 0
    gaps: list[float] = []
    async with await ResultStore.open(loaded.config.storage.url) as store:
        for check in loaded.config.checks:
            for region in REGIONS:
                found = await store.results(check.name, region=region, since=since, limit=100_000)
                found.sort(key=lambda r: r.started_at)
                starts = [r.started_at.timestamp() for r in found]
                gaps += [b - a for a, b in itertools.pairwise(starts)]
                for r in found:
                    errors += r.status == "error"
                    cleanup = r.details.get("cleanup")
                    runs.append(
                        Run(
                            check=r.check,
                            region=r.region,
                            start=r.started_at.timestamp() - t0,
                            status="pass" if r.status in ("pass", "degraded") else "fail",
                            attempts=r.attempts,
                            duration_ms=r.duration_ms,
                            wall_ms=r.wall_ms,
                            wait_ms=r.wait_ms,
                            code=None,
                            cause=None,
                            retry_skipped=None,
                            cleanup_failed=isinstance(cleanup, dict) and cleanup.get("ok") is False,
                            recheck=False,
                        )
                    )
    return runs, errors, gaps


# ---------------------------------------------------------------- accounting


def figures(live: Live, minutes: float) -> list[Figures]:
    """chaos.py's table once per channel, plus the live run's own rows."""
    scenario = Scenario(
        name="live",
        regions=list(REGIONS),
        checks=[{"name": name} for name in live.checks],
        faults=list(live.outages),
        duration_s=minutes * 60.0,
        defaults={"interval": "3s", "timeout": "1s"},
        outages=list(live.outages),
    )
    out = []
    for channel, delivered in live.channels.items():
        trace = Trace(runs=live.runs, seconds=minutes * 60.0)
        trace.notes = [
            Note(
                at=d.at - live.t0,
                kind=d.kind,
                alert_key=f"{RULE}/{d.check}/{d.region or '*'}",
                check=d.check,
                region=d.region,
            )
            for d in sorted(delivered, key=lambda d: d.at)
        ]
        scenario.name = f"live, {channel}"
        table = account(scenario, live.loaded, trace, "spec (window 1m)", Features.detect())
        keys = Counter(d.key for d in delivered)
        table.add(
            "duplicates per key (same key delivered twice)",
            sum(n - 1 for n in keys.values()),
            "0",
            key="duplicates",
        )
        _outage_rows(table, live, delivered)
        _live_rows(table, live)
        out.append(table)
    return out


def _outage_rows(table: Figures, live: Live, delivered: list[Delivered]) -> None:
    """Per outage: the kinds that arrived from its start to the next outage's (or the end)."""
    groups = len(live.checks) * len(REGIONS)
    starts = [o.start for o in live.outages] + [float("inf")]
    for outage, until in zip(live.outages, starts[1:], strict=False):
        kinds = Counter(d.kind for d in delivered if outage.start <= d.at - live.t0 < until)
        table.add(
            f"  {outage.label} ({outage.start:.0f}-{outage.end:.0f} s): notifications",
            ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none",
            f"firing {groups}, resolved {groups}",
        )


def _live_rows(table: Figures, live: Live) -> None:
    table.add("error results (nothing learnt)", live.errors, key="errors")
    if live.gaps:
        ratio = [g / INTERVAL_S for g in live.gaps]
        late = sum(r > 1.5 for r in ratio)
        table.add(
            "gap between runs, intervals: median / max / > 1.5",
            f"{statistics.median(ratio):.2f} / {max(ratio):.2f} / {late}",
            "1 / < 1.5 / 0",
        )
        table.counts["late_runs"] = late
    table.add("alerts still firing at the end (API)", live.firing_at_end, "0", key="firing_at_end")
    table.add("incidents opened (API)", live.incidents, key="incidents")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the schedule")
    parser.add_argument("--outages", type=int, default=3, choices=range(1, 4), metavar="1..3")
    parser.add_argument("--seed", type=int, default=11, help="the target's flaky_seed")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> list[Figures]:
    live = run_live(args.minutes, args.outages, args.seed)
    return figures(live, args.minutes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    for table in measure(args):
        print(format_table(table))
        print(json.dumps({"counts": table.counts}))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
