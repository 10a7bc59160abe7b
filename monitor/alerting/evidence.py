"""The evidence ledger of a notification: what each region saw, in one look.

Per region of the alert, from its newest stored run: the verdict and its reason, the
attempts and their outcomes, the first failing assertion (expected vs actual), the
failing attempt's phase timings next to the check's usual ones (the median of that
region's passing runs over the last day), and links to the run's artifacts.  Built
when the notification is written to the outbox, so a redelivery shows the same facts.
Every string in it comes from stored results, which were redacted before storing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from monitor.artifacts.links import artifact_url
from monitor.store.errors import StoreError
from monitor.store.records import ResultRecord

USUAL_OVER: Final = timedelta(days=1)
USUAL_SAMPLE: Final = 500  # newest runs read for the usual timings, per region
MAX_ATTEMPTS_SHOWN: Final = 5

Ledger = tuple[dict[str, Any], ...]
RecentRuns = Callable[[str, str, datetime], Awaitable[Sequence[ResultRecord]]]


def median_timings(records: Iterable[ResultRecord]) -> dict[str, float]:
    """The median (nearest rank, as the store's p50) of each phase over passing runs."""
    samples: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.status.ok:
            for phase, ms in record.timings.items():
                samples[phase].append(ms)
    out: dict[str, float] = {}
    for phase, values in samples.items():
        values.sort()
        out[phase] = round(values[(len(values) + 1) // 2 - 1], 1)
    return out


def region_entry(
    record: ResultRecord, usual: dict[str, float], *, public_url: str | None
) -> dict[str, Any]:
    """One region's line of the ledger, from its newest run."""
    failed = next((a for a in record.assertions if not a.get("passed", True)), None)
    attempts = record.details.get("attempts")
    timings = [
        {"phase": phase, "ms": round(ms, 1), "usual_ms": usual.get(phase)}
        for phase, ms in record.timings.items()
    ]
    links = (
        [
            {"name": name, "url": artifact_url(public_url, record.id, name)}
            for name in record.artifacts
        ]
        if record.id is not None
        else []
    )
    return {
        "region": record.region,
        "status": record.status.value,
        "reason": record.reason.value if record.reason is not None else None,
        "at": record.started_at.isoformat(),
        "message": record.message,
        "attempt_count": record.attempts,
        "attempts": list(attempts[:MAX_ATTEMPTS_SHOWN]) if isinstance(attempts, list) else [],
        "failed": (
            {k: str(failed.get(k, "")) for k in ("name", "expected", "actual")}
            if failed is not None
            else None
        ),
        "timings": timings,
        "links": links,
    }


def reasons_text(records: Iterable[ResultRecord], regions: Iterable[str]) -> str:
    """The reasons of the newest run of each region when it failed, distinct, joined by ", "
    (the ``reason`` of alert templates); ``""`` when no region's newest run failed."""
    newest: dict[str, ResultRecord] = {}
    for record in records:
        kept = newest.get(record.region)
        if kept is None or record.started_at >= kept.started_at:
            newest[record.region] = record
    found = {
        run.reason.value
        for region in regions
        if (run := newest.get(region)) is not None and run.reason is not None
    }
    return ", ".join(sorted(found))


async def ledger(
    records: Sequence[ResultRecord],
    regions: Sequence[str],
    *,
    now: datetime,
    recent: RecentRuns,
    public_url: str | None,
) -> Ledger:
    """The ledger of ``regions`` from ``records`` (one check's, any order).

    ``recent(check, region, since)`` reads that region's runs since ``since`` (newest
    first, bounded) for the usual timings.
    """
    newest: dict[str, ResultRecord] = {}
    for record in records:
        if record.region in regions:
            kept = newest.get(record.region)
            if kept is None or record.started_at >= kept.started_at:
                newest[record.region] = record
    out = []
    for region in sorted(newest):
        record = newest[region]
        try:
            usual = median_timings(await recent(record.check, region, now - USUAL_OVER))
        except StoreError:
            usual = {}  # the notification goes out without the usual timings, not late

        out.append(region_entry(record, usual, public_url=public_url))
    return tuple(out)
