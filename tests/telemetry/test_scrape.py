"""Specifications of the /metrics cache: rendered off the event loop, once per version."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.telemetry.scrape import SLOW_RENDER_S, Scrapes

# Bounds the test if a render ever ran on the loop (it would wait this long, then fail).
WAIT_S = 60.0


class Gate(Collector):
    """A collector whose collect() waits until the test opens it; it reports whether it
    was opened (False: nothing opened it, e.g. because it blocked the loop that would)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def collect(self) -> Iterator[Metric]:
        self.entered.set()
        opened = self.opened.wait(WAIT_S)
        family = GaugeMetricFamily("gate_opened", "1 if the loop opened the gate")
        family.add_metric([], 1.0 if opened else 0.0)
        yield family


def versioned() -> tuple[CollectorRegistry, Gauge, list[int]]:
    registry = CollectorRegistry()
    gauge = Gauge("things", "Things", registry=registry)
    return registry, gauge, [0]


class TestScrapes:
    async def test_a_render_never_blocks_the_event_loop(self) -> None:
        """While a render is inside collect(), the loop keeps serving: another coroutine
        runs and opens the gate the render waits on."""
        registry = CollectorRegistry()
        gate = Gate()
        registry.register(gate)
        scrapes = Scrapes(registry, lambda: 1)
        order: list[str] = []

        async def other_request() -> None:
            await asyncio.to_thread(gate.entered.wait, WAIT_S)
            order.append("other request served during the render")
            gate.opened.set()

        scrape = asyncio.create_task(scrapes.get())
        await other_request()
        answer = await scrape
        order.append("render done")
        assert order == ["other request served during the render", "render done"]
        assert b"gate_opened 1.0" in answer.body

    async def test_concurrent_scrapes_share_one_render(self) -> None:
        """Scrapes of one version while its render runs all get that one answer."""
        registry = CollectorRegistry()
        gate = Gate()
        registry.register(gate)
        scrapes = Scrapes(registry, lambda: 1)
        waiting = [asyncio.create_task(scrapes.get()) for _ in range(5)]
        await asyncio.to_thread(gate.entered.wait, WAIT_S)
        gate.opened.set()
        answers = await asyncio.gather(*waiting)
        assert all(a is answers[0] for a in answers)
        assert scrapes.renders == 1

    async def test_a_new_version_is_rendered_and_the_old_answer_never_served(self) -> None:
        """Same version: the cached answer; a new version: a fresh render with the new
        value, and its gzip bytes are the same body."""
        registry, gauge, version = versioned()
        scrapes = Scrapes(registry, lambda: version[0])
        gauge.set(1)
        first = await scrapes.get()
        assert b"things 1.0" in first.body
        assert await scrapes.get() is first
        gauge.set(2)
        version[0] += 1
        second = await scrapes.get()
        assert b"things 2.0" in second.body
        assert gzip.decompress(second.gzipped) == second.body
        assert scrapes.renders == 2

    async def test_each_format_is_cached_apart(self) -> None:
        """Text and OpenMetrics scrapes of one version render once each, never mixed."""
        registry, gauge, _ = versioned()
        gauge.set(3)
        scrapes = Scrapes(registry, lambda: 0)
        text = await scrapes.get("text/plain")
        om = await scrapes.get("application/openmetrics-text")
        assert (
            await scrapes.get("text/plain"),
            await scrapes.get("application/openmetrics-text"),
        ) == (text, om)
        assert not text.body.endswith(b"# EOF\n")
        assert om.body.endswith(b"# EOF\n")
        assert scrapes.renders == 2

    async def test_a_slow_older_render_never_replaces_a_newer_answer(self) -> None:
        """A render of version 1 that ends after version 2's leaves version 2's answer
        cached: the next scrape of version 2 renders nothing."""
        registry = CollectorRegistry()
        gate = Gate()
        registry.register(FirstOnly(gate))
        version = [1]
        scrapes = Scrapes(registry, lambda: version[0])
        older = asyncio.create_task(scrapes.get())
        await asyncio.to_thread(gate.entered.wait, WAIT_S)
        version[0] = 2
        newer = await scrapes.get()
        gate.opened.set()
        await older
        assert await scrapes.get() is newer
        assert scrapes.renders == 2


class FirstOnly(Collector):
    """Holds only its first collect() at the gate."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._calls = 0
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._calls += 1
            first = self._calls == 1
        if first:
            yield from self._gate.collect()


class Costly(Collector):
    """A collector whose collect() advances a test clock by ``cost_s``: a render that costs
    that much, without waiting for it."""

    def __init__(self, clock: list[float], cost_s: float, gauge_value: list[float]) -> None:
        self._clock = clock
        self._cost_s = cost_s
        self._value = gauge_value

    def collect(self) -> Iterator[Metric]:
        self._clock[0] += self._cost_s
        family = GaugeMetricFamily("things", "Things")
        family.add_metric([], self._value[0])
        yield family


def costly(cost_s: float) -> tuple[Scrapes, list[float], list[int], list[str], list[float]]:
    """Scrapes of a render costing ``cost_s``: the clock, version, state and value to move."""
    clock, version, state, value = [0.0], [0], ["ok"], [1.0]
    registry = CollectorRegistry()
    registry.register(Costly(clock, cost_s, value))
    scrapes = Scrapes(registry, lambda: version[0], state=lambda: state[0], clock=lambda: clock[0])
    return scrapes, clock, version, state, value


class TestCostlyRenders:
    async def test_a_costly_answer_is_rendered_again_at_most_once_per_ten_times_its_cost(
        self,
    ) -> None:
        """A render of 1 s is served for newer versions until 10 s after it started; the
        first scrape after that renders the newest value."""
        scrapes, clock, version, _, value = costly(1.0)
        first = await scrapes.get()
        value[0], version[0] = 2.0, 1
        clock[0] = 9.9
        assert await scrapes.get() is first
        clock[0] = 10.0
        fresh = await scrapes.get()
        assert b"things 2.0" in fresh.body
        assert scrapes.renders == 2

    async def test_a_cheap_answer_is_rendered_for_every_new_version(self) -> None:
        """A render under SLOW_RENDER_S keeps the exact promise: a new version, a new render."""
        scrapes, _, version, _, value = costly(SLOW_RENDER_S / 2)
        await scrapes.get()
        value[0], version[0] = 2.0, 1
        assert b"things 2.0" in (await scrapes.get()).body
        assert scrapes.renders == 2

    async def test_a_state_change_is_rendered_at_once_however_costly(self) -> None:
        """A live collector's change (the store went away) is never held back."""
        scrapes, clock, _, state, value = costly(1.0)
        first = await scrapes.get()
        value[0], state[0] = 3.0, "store down"
        clock[0] = 1.5
        answer = await scrapes.get()
        assert answer is not first
        assert b"things 3.0" in answer.body
        assert scrapes.renders == 2  # at 1.5 s, well inside the 10 s it would otherwise wait
