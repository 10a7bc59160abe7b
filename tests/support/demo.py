"""The demo target as a pytest plugin: served over real HTTP on 127.0.0.1, healthy per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from examples.demo_target import DemoTargetThread, TargetState
from examples.demo_target.state import RateLimiter


@pytest.fixture(scope="module")
def served() -> Iterator[DemoTargetThread]:
    """One demo target per test module, in its own thread and event loop."""
    with DemoTargetThread() as target:
        yield target


@pytest.fixture
def target(served: DemoTargetThread) -> TargetState:
    """The served target's state: healthy, no faults, no history, fresh rate-limit windows."""
    served.state.reset()
    served.state.limiter = RateLimiter()
    return served.state
