"""How long smokewatch's own event loop was held up while a measurement ran.

A probe times a request on the event loop it shares with every other check, the
store writer, the API and the browser pool.  When that loop is held up (a burst of
work, a start-up, a CPU starved by Chromium launching beside it), a response that
came back fast waits in the socket until the loop gets round to it, and the probe
reports the target as slow.  That is the monitor's delay, not the target's.

:class:`LoopLag` measures it the way a lag probe does: while any measurement is
open, a timer fires every ``tick_s`` and adds up how much later than asked it ran.
Overshoot up to ``slack_s`` per tick is timer noise (about 0.3 ms here) and is not
counted.  A :meth:`window` reads the sum at its start and end; the sum
includes a tick that is late right now, so a hold-up still under way when the
window closes counts too.  No timer is set while no window is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TICK_S = 0.01
SLACK_S = 0.002


@dataclass(slots=True)
class LagWindow:
    """One measurement's window: the loop's hold-up within it, once it has closed."""

    start_s: float
    lag_s: float = 0.0

    @property
    def lag_ms(self) -> float:
        return self.lag_s * 1000.0


class LoopLag:
    """Adds up the running event loop's hold-ups while at least one window is open."""

    def __init__(self, tick_s: float = TICK_S, slack_s: float = SLACK_S) -> None:
        self._tick_s = tick_s
        self._slack_s = slack_s
        self._total_s = 0.0
        self._due: float | None = None  # when the sensor's current tick should run
        self._open = 0
        # A timer callback, not a task: 18 us per window instead of 44 (a cancelled task).
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def total_s(self) -> float:
        """Hold-ups so far, counting a tick that is overdue at this moment."""
        if self._due is None or self._loop is None:
            return self._total_s
        return self._total_s + max(self._loop.time() - self._due - self._slack_s, 0.0)

    @contextmanager
    def window(self) -> Iterator[LagWindow]:
        """Measure the hold-ups between entering and leaving (call on the event loop)."""
        if self._timer is None:
            self._loop = asyncio.get_running_loop()
            self._arm(self._loop, self._loop.time())
        self._open += 1
        window = LagWindow(start_s=self.total_s())
        try:
            yield window
        finally:
            window.lag_s = max(self.total_s() - window.start_s, 0.0)
            self._open -= 1
            if self._open == 0:
                self._stop()

    def _arm(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        self._due = now + self._tick_s
        self._timer = loop.call_at(self._due, self._tick, loop, self._due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self._total_s += max(now - due - self._slack_s, 0.0)
        self._arm(loop, now)

    def _stop(self) -> None:
        # Fold a tick late right now into the total, so that a later window's reading
        # of the total never goes down.
        self._total_s = self.total_s()
        self._due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
