"""The rows ``bench/api.py`` measures and the tables it prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.wrk import WrkResult

RATE = 500.0
GOAL_P99_MS = 20.0
PAGE = "/"
MIXED = "/api/v1/status (+ / 1/s)"  # status at RATE while a viewer loads the page each second
STORES = ("SQLite", "PostgreSQL")
LABELS = ("/api/v1/status", MIXED, "/api/v2/summary.json", PAGE)


@dataclass(frozen=True, slots=True)
class Row:
    label: str  # the endpoint, or MIXED
    store: str
    cache_s: float
    size: int  # response bytes as sent
    wrk: WrkResult | None  # None: not run (MIXED)
    wrk_cpu_ms: float  # server CPU per request under wrk
    open: dict[str, Any] | None  # bench.openloop's summary; None when skipped
    open_cpu_ms: float  # server CPU per request at RATE (MIXED: per status request)
    rss_mb: float
    load1: float

    @property
    def verdict(self) -> str:
        if self.open is None and self.wrk is None:
            return "NO (not run: status alone saturates)"
        if self.open is None:
            assert self.wrk is not None
            return f"NO (saturates at {self.wrk.rps:.0f}/s)"
        late = self.open["unfinished"] + self.open["errors"] + self.open["non_2xx"]
        rate_ok = self.open["achieved_rps"] >= 0.98 * RATE and not late
        if rate_ok and self.open["p99_ms"] < GOAL_P99_MS:
            return "yes"
        return "NO" if rate_ok else "NO (rate not held)"


HEAD = (
    f"{'endpoint':<24} {'store':<10} {'cache':>5} {'bytes':>6} | {'wrk req/s':>9} "
    f"{'p50':>6} {'p99':>7} | {'@500/s: got/s':>13} {'p50':>6} {'p90':>6} {'p99':>7} "
    f"{'max':>7} | {'CPU ms/req':>10} {'@500':>5} {'1-core/s':>8} {'RSS MB':>6} "
    f"{'load1':>5} | p99<20ms"
)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value / 1000:.1f}s"


def format_row(row: Row) -> str:
    o, w = row.open, row.wrk
    flat_out = (
        f"{w.rps:>9.0f} {_ms(w.p50_ms):>6} {_ms(w.p99_ms):>7}"
        if w is not None and w.requests
        else f"{f'{w.rps:.0f}' if w else '-':>9} {'-':>6} {'-':>7}"
    )
    at_rate = (
        f"{o['achieved_rps']:>13.1f} {_ms(o['p50_ms']):>6} {_ms(o['p90_ms']):>6} "
        f"{_ms(o['p99_ms']):>7} {_ms(o['max_ms']):>7}"
        if o is not None
        else f"{'skipped':>13} {'-':>6} {'-':>6} {'-':>7} {'-':>7}"
    )
    if w is not None and w.requests:
        cpu = f"{row.wrk_cpu_ms:>10.2f}"
        one_core = f"{1000 / row.wrk_cpu_ms:>8.0f}"
    else:
        cpu, one_core = f"{'-':>10}", f"{'-':>8}"
    at_cpu = f"{row.open_cpu_ms:5.2f}" if o is not None else f"{'-':>5}"
    return (
        f"{row.label:<24} {row.store:<10} {row.cache_s:>4g}s {row.size:>6} | {flat_out} | "
        f"{at_rate} | {cpu} {at_cpu} {one_core} {row.rss_mb:>6.0f} {row.load1:>5.2f} | "
        f"{row.verdict}"
    )


def print_tables(rows: list[Row]) -> None:
    def order(row: Row) -> tuple[int, float, int]:
        return LABELS.index(row.label), -row.cache_s, STORES.index(row.store)

    ranked = sorted(rows, key=order)
    for title, chosen in (
        ("status API", [r for r in ranked if r.label != PAGE]),
        ("status page (separately; the goal is the API's)", [r for r in ranked if r.label == PAGE]),
    ):
        print(f"\n### {title}: latency in ms\n{HEAD}\n{'-' * len(HEAD)}")
        previous = None
        for row in chosen:
            if previous is not None and (row.label, row.cache_s) != previous:
                print()
            previous = (row.label, row.cache_s)
            print(format_row(row))
    for r in rows:
        where = f"{r.label} {r.store} cache {r.cache_s:g}s"
        o = r.open
        if o is not None and (o["unfinished"] or o["errors"] or o["non_2xx"]):
            print(
                f"note: {where}: {o['unfinished']} unfinished, {o['errors']} connection errors, "
                f"{o['non_2xx']} non-2xx"
            )
        if o is not None and o["lag_p99_ms"] > 5:
            print(
                f"note: {where}: the generator itself ran late (dispatch lag p99 "
                f"{o['lag_p99_ms']:.1f} ms, counted in the latencies)"
            )
        if r.wrk is not None and r.wrk.errors:
            print(f"note: {where}: wrk saw {r.wrk.errors} non-2xx or socket errors")
    print(
        "\nwrk: closed loop, flat out (its p50/p99 are a saturated server's).  @500/s: open loop,\n"
        "latency from each request's scheduled start.  CPU ms/req: the server's user+sys per\n"
        "answered request under wrk, and at 500/s; 1-core/s = 1000 / that: what one whole core\n"
        f"would serve.  {MIXED}: status at 500/s while the page is loaded once a second\n"
        "(status figures only).  RSS after the row's runs."
    )
