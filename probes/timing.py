"""Request timing by phase, from httpcore's ``trace`` request extension.

httpcore calls the trace callback around each step of a request with event names
``<logger>.<step>.started`` and ``<logger>.<step>.complete`` (or ``.failed``), where
the logger is ``connection`` (TCP connect, TLS handshake), ``http11`` or ``http2``
(send and receive).  :class:`PhaseTimer` folds those into the phases smokewatch
reports, in milliseconds:

==============  ===============================================================
``connect``     TCP connect (0 on a reused pooled connection)
``tls``         TLS handshake (0 on plain http or a reused connection)
``request``     sending the request headers and body
``first_byte``  request sent until response headers received: server think time
``transfer``    response headers received until the body is read (first to last byte)
``total``       first network event (connect, or send on a reused connection) to the
                last body byte; what the client library does around that (pool
                bookkeeping, closing the response) is not the target's time.  Falls
                back to :meth:`PhaseTimer.start` / :meth:`PhaseTimer.stop` for an
                exchange that never got that far.
==============  ===============================================================

Redirects reuse the same callback, so each phase is the sum over every hop.  An event
whose ``info`` carries ``"at"`` (a ``perf_counter()`` value: smokewatch's own transport,
:mod:`probes.http_wire`, stamps the end of the head and of the body with when their last
bytes arrived) is timed then, not when the callback runs.  The
callback sits on the hot path of every request: one dict lookup and, for events
we time, one clock read.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Any, Final

PHASES: Final = ("connect", "tls", "request", "first_byte", "transfer")

_STEP_PHASE: Final = (
    ("connection.connect_tcp", "connect"),
    ("connection.start_tls", "tls"),
    ("http11.send_request_headers", "request"),
    ("http11.send_request_body", "request"),
    ("http11.receive_response_headers", "first_byte"),
    ("http11.receive_response_body", "transfer"),
    ("http2.send_request_headers", "request"),
    ("http2.send_request_body", "request"),
    ("http2.receive_response_headers", "first_byte"),
    ("http2.receive_response_body", "transfer"),
)

# event name -> (phase, is_start, phase that starts when this one completes); precomputed
# so the callback does one lookup.  Transfer starts when the response headers are in, not
# when the caller starts reading, so it is the whole time from first byte to last byte.
_EVENTS: Final = MappingProxyType(
    {
        f"{step}.{suffix}": (
            phase,
            suffix == "started",
            "transfer" if phase == "first_byte" and suffix == "complete" else None,
        )
        for step, phase in _STEP_PHASE
        for suffix in ("started", "complete", "failed")
    }
)


class PhaseTimer:
    """Collects phase durations for one exchange (one request and its redirects).

    Pass :meth:`trace` as ``extensions={"trace": timer.trace}``; call :meth:`start`
    before sending and :meth:`stop` once the body is read (or abandoned).  A phase
    still open at :meth:`stop` (a body we stopped reading at the size cap) is
    closed there.
    """

    __slots__ = ("_body_done", "_first", "_last", "_ms", "_open", "_t0", "_t_end")

    def __init__(self) -> None:
        self._open: dict[str, float] = {}
        self._ms: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self._t0: float | None = None
        self._t_end: float | None = None
        self._last: str | None = None
        self._first: float | None = None
        self._body_done: float | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore trace callback (async, as the async transport requires)."""
        hit = _EVENTS.get(event)
        if hit is None:
            return
        phase, is_start, then = hit
        now = info.get("at") or time.perf_counter()
        self._last = phase
        if self._first is None:
            self._first = now
        if is_start:
            self._open.setdefault(phase, now)
            return
        began = self._open.pop(phase, None)
        if began is not None:
            self._ms[phase] += (now - began) * 1000.0
        if then is not None:
            self._open[then] = now
        elif phase == "transfer":
            self._body_done = now

    def stop(self) -> None:
        now = time.perf_counter()
        self._t_end = now
        for phase, began in self._open.items():
            self._ms[phase] += (now - began) * 1000.0
        self._open.clear()

    @property
    def last_phase(self) -> str | None:
        """The phase of the latest timed event: where the exchange was when it stopped."""
        return self._last

    @property
    def total_ms(self) -> float:
        """Milliseconds from the first network event to the last body byte (see module doc)."""
        begin = self._first if self._first is not None else self._t0
        if begin is None:
            return 0.0
        end = self._body_done
        if end is None:
            end = self._t_end if self._t_end is not None else time.perf_counter()
        return (end - begin) * 1000.0

    def as_dict(self) -> dict[str, float]:
        """Every phase plus ``total``, in milliseconds rounded to 0.001."""
        out = {phase: round(ms, 3) for phase, ms in self._ms.items()}
        out["total"] = round(self.total_ms, 3)
        return out
