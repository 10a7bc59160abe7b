"""Specifications of the result writer's metrics on /metrics: queue depth, bursts, burst
sizes, retries and failures, current after every burst although answers are cached."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from monitor.runtime.writer_metrics import WriterCollector
from monitor.store import ResultStore, StoreUnavailable
from monitor.store.writer import ResultWriter
from monitor.telemetry.scrape import Scrapes
from tests.store.factory import record
from tests.store.test_store import closed_port
from tests.store.test_writer import Log

REGION = {"region": "eu"}


def scrapes_of(writer: ResultWriter) -> Scrapes:
    registry = CollectorRegistry(auto_describe=True)
    collector = WriterCollector(writer, "eu")
    registry.register(collector)
    return Scrapes(registry, collector.state)


async def samples(scrapes: Scrapes) -> dict[tuple[str, str], float]:
    """name and ``le`` (or '') -> value, of the region's samples."""
    body = (await scrapes.get()).body.decode()
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.labels.get("region") == "eu"
    }


class TestWriterMetrics:
    async def test_bursts_and_their_sizes_follow_each_write(self, store: ResultStore) -> None:
        """A lone result, then a burst of 30: counters, histogram and queue depth are the
        writer's after each, though the first answer was cached."""
        writer = ResultWriter(store, log=Log())
        scrapes = scrapes_of(writer)
        writer.start()
        try:
            before = await samples(scrapes)
            await writer.write(record("lone"))
            after_one = await samples(scrapes)
            pending = [await writer.submit(record(f"c{n}")) for n in range(30)]
            queued = await samples(scrapes)
            await asyncio.gather(*pending)
            after_burst = await samples(scrapes)
        finally:
            await writer.close()
        assert before[("smoke_test_store_bursts_total", "")] == 0
        assert after_one[("smoke_test_store_results_written_total", "")] == 1
        assert after_one[("smoke_test_store_burst_results_bucket", "1.0")] == 1
        # The writer drains while the scrape renders: any depth up to all 30 is right.
        assert 0 <= queued[("smoke_test_store_queued_results", "")] <= 30
        assert after_burst[("smoke_test_store_queued_results", "")] == 0
        assert after_burst[("smoke_test_store_results_written_total", "")] == 31
        assert after_burst[("smoke_test_store_bursts_total", "")] == writer.bursts
        assert after_burst[("smoke_test_store_burst_results_sum", "")] == 31
        assert after_burst[("smoke_test_store_burst_results_count", "")] == writer.bursts
        assert after_burst[("smoke_test_store_write_failures_total", "")] == 0

    async def test_retries_and_failures_of_an_unreachable_store(self) -> None:
        """A store that stays down: one retry per delay, every result counted as given back."""
        url = f"postgresql://smokewatch@127.0.0.1:{closed_port()}/none"
        store = await ResultStore.open(url, migrate=False)
        writer = ResultWriter(store, log=Log(), retry_delays=(0.01, 0.02))
        scrapes = scrapes_of(writer)
        writer.start()
        try:
            pending = [await writer.submit(record()) for _ in range(4)]
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
            found = await samples(scrapes)
        finally:
            await writer.close()
            await store.close()
        assert all(isinstance(o, StoreUnavailable) for o in outcomes)
        # The four were queued before the writer ran: one burst, tried again twice.
        assert found[("smoke_test_store_write_retries_total", "")] == 2
        assert found[("smoke_test_store_write_failures_total", "")] == 4
        assert found[("smoke_test_store_results_written_total", "")] == 0
