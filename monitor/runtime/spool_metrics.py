"""The spool's Prometheus metrics, read from the :class:`~monitor.runtime.spool.Spool` at
scrape time.

``smoke_test_spooled_results``              gauge    results waiting in the spool for the store
``smoke_test_spool_oldest_age_seconds``     gauge    age of the oldest waiting result (0: none)
``smoke_test_results_spooled_total``        counter  results written to the spool
``smoke_test_results_replayed_total``       counter  spooled results the store has taken
``smoke_test_results_spool_dropped_total``  counter  lost: spool full or not ours

Counters count from process start; they live on the spool, so a config reload (a new
registry) does not reset them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from monitor.runtime.region_metrics import region_counter, region_gauge
from monitor.runtime.spool import Spool


def now_utc() -> datetime:
    return datetime.now(UTC)


class SpoolCollector(Collector):
    """Exposes one spool's depth, lag and counters, labelled by region."""

    def __init__(self, spool: Spool, region: str, clock: Callable[[], datetime] = now_utc) -> None:
        self._spool = spool
        self._region = region
        self._clock = clock

    def state(self) -> Hashable:
        """Changes whenever what :meth:`collect` shows changes (the /metrics cache key):
        while results wait, the age grows, so the state changes every second."""
        spool = self._spool
        counts = (spool.pending, spool.spooled_total, spool.replayed_total, spool.dropped_total)
        waiting = spool.oldest_at is not None
        return (*counts, int(self._clock().timestamp()) if waiting else None)

    def collect(self) -> Iterator[Metric]:
        spool, labels = self._spool, [self._region]
        oldest = spool.oldest_at
        age = max(0.0, (self._clock() - oldest).total_seconds()) if oldest is not None else 0.0
        yield region_gauge(
            "smoke_test_spooled_results",
            "Results waiting in the local spool for the store",
            labels,
            spool.pending,
        )
        yield region_gauge(
            "smoke_test_spool_oldest_age_seconds",
            "Age of the oldest result waiting in the spool (0 when none waits)",
            labels,
            age,
        )
        yield region_counter(
            "smoke_test_results_spooled",
            "Results written to the spool because the store could not take them",
            labels,
            spool.spooled_total,
        )
        yield region_counter(
            "smoke_test_results_replayed",
            "Spooled results the store has taken",
            labels,
            spool.replayed_total,
        )
        yield region_counter("smoke_test_results_spool_dropped",
                       "Results lost: the spool was full or another process owns it",
                       labels, spool.dropped_total)  # fmt: skip
