"""Metrics of the region's split among replicas, read from the service at scrape time.

``smoke_test_check_lateness_seconds{quantile}``  gauge  scheduled runs' start minus due time
                                                        (0.5, 0.95, 1 = max), recent runs here
``smoke_test_checks_owned``                      gauge  checks this replica owns
``smoke_test_checks_unowned``                    gauge  checks no live replica's role takes

Without sharing (``scheduler.shard`` off) a replica that schedules owns every check.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.scheduling.shard import Shard

QUANTILES = (0.5, 0.95, 1.0)


class ShardSource(Protocol):
    @property
    def shard(self) -> Shard | None: ...

    @property
    def lateness(self) -> Sequence[float]: ...

    @property
    def region(self) -> str: ...


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank); 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class ShardCollector(Collector):
    def __init__(self, source: ShardSource) -> None:
        self._source = source

    def state(self) -> Hashable:
        """Changes whenever what :meth:`collect` shows changes (the /metrics cache key)."""
        source, shard = self._source, self._source.shard
        recent = list(source.lateness)
        owned = None if shard is None else (len(shard.owned), shard.unowned)
        return (owned, *(quantile(recent, q) for q in QUANTILES))

    def collect(self) -> Iterator[Metric]:
        source, region = self._source, self._source.region
        late = GaugeMetricFamily(
            "smoke_test_check_lateness_seconds",
            "How late scheduled runs started after their due time (recent runs here)",
            labels=["region", "quantile"],
        )
        recent = list(source.lateness)
        for q in QUANTILES:
            late.add_metric([region, f"{q:g}"], quantile(recent, q))
        yield late
        shard = source.shard
        if shard is None:
            return
        owned = GaugeMetricFamily(
            "smoke_test_checks_owned", "Checks this replica owns", labels=["region"]
        )
        owned.add_metric([region], len(shard.owned))
        yield owned
        unowned = GaugeMetricFamily(
            "smoke_test_checks_unowned",
            "Checks no live replica's role takes (they do not run)",
            labels=["region"],
        )
        unowned.add_metric([region], shard.unowned)
        yield unowned
