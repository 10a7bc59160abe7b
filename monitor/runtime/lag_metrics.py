"""The runner's own hold-ups as Prometheus metrics, read from the :class:`Runner` at scrape time.

``smokewatch_loop_held_up_seconds_total``  counter  how long the event loop was held up
                                                    while checks were measuring
``smokewatch_remeasures_total``            counter  verdicts measured again because the
                                                    hold-up could explain them

A rising first counter says smokewatch itself is short of CPU (or blocks its loop): its
timings are inflated by that much, and ``details.monitor_lag_ms`` of each result says by
how much.  Both count from the Runtime's start.  Registered plainly, not watched: they
change only while checks run, and every recorded run renders ``/metrics`` again.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from monitor.runner import Runner
from monitor.runtime.region_metrics import region_counter


class LagCollector(Collector):
    """Exposes one runner's hold-ups and re-measurements, labelled by region."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def collect(self) -> Iterator[Metric]:
        runner = self._runner
        labels = [runner.region]
        yield region_counter(
            "smokewatch_loop_held_up_seconds",
            "How long smokewatch's event loop was held up while checks were measuring",
            labels,
            runner.lag.total_s(),
        )
        yield region_counter(
            "smokewatch_remeasures",
            "Verdicts set by a time budget measured again because the hold-up could explain them",
            labels,
            runner.remeasures,
        )
