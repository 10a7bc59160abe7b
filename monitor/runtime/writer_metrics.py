"""The result writer's Prometheus metrics, read from the :class:`ResultWriter` at scrape time.

``smoke_test_store_queued_results``          gauge      results waiting for the writer
``smoke_test_store_bursts_total``            counter    transactions committed
``smoke_test_store_results_written_total``   counter    results stored
``smoke_test_store_burst_results``           histogram  results per committed transaction
``smoke_test_store_write_retries_total``     counter    bursts tried again (database locked or down)
``smoke_test_store_write_failures_total``    counter    results given back (serve spools them)

Results spooled and replayed are the spool's (:mod:`monitor.runtime.spool_metrics`).  The
counters count from the writer's start: a config reload starts a new writer.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from prometheus_client.core import Metric
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitor.runtime.region_metrics import region_counter, region_gauge
from monitor.store.writer import BURST_BOUNDS, ResultWriter

_LE = [*(floatToGoString(b) for b in BURST_BOUNDS), "+Inf"]  # type: ignore[no-untyped-call]  # unannotated upstream


class WriterCollector(Collector):
    """Exposes one writer's queue depth, bursts, retries and failures, labelled by region."""

    def __init__(self, writer: ResultWriter, region: str) -> None:
        self._writer = writer
        self._region = region

    def state(self) -> Hashable:
        """Changes whenever what :meth:`collect` shows changes (the /metrics cache key)."""
        w = self._writer
        return (w.pending, w.bursts, w.written, w.retries, w.failed)

    def collect(self) -> Iterator[Metric]:
        w, labels = self._writer, [self._region]
        yield region_gauge(
            "smoke_test_store_queued_results",
            "Results waiting for the writer (the queue is bounded: runs wait when it is full)",
            labels,
            w.pending,
        )
        yield region_counter(
            "smoke_test_store_bursts", "Result transactions committed", labels, w.bursts
        )
        yield region_counter(
            "smoke_test_store_results_written", "Results stored", labels, w.written
        )
        sizes = HistogramMetricFamily(
            "smoke_test_store_burst_results",
            "Results per committed transaction (a burst is what queued while the last committed)",
            labels=["region"],
        )
        cumulative, total = [], 0
        for le, count in zip(_LE, w.burst_sizes, strict=True):
            total += count
            cumulative.append((le, float(total)))
        sizes.add_metric(labels, cumulative, float(w.written))
        yield sizes
        yield region_counter(
            "smoke_test_store_write_retries",
            "Result transactions tried again because the database was locked or unreachable",
            labels,
            w.retries,
        )
        yield region_counter(
            "smoke_test_store_write_failures",
            "Results the writer could not store and gave back (serve spools them)",
            labels,
            w.failed,
        )
