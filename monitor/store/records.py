"""The store's internal model of one result.  API response models are separate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from probes.base import Status


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One completed check run (after retries), as stored.

    ``run_id`` is the uuid4 hex of the run: one ``run --once`` or one scheduled
    execution.  ``started_at`` is tz-aware; it is stored and read back in UTC.
    ``duration_ms`` is wall time including retries.  ``message`` was sanitized by
    the caller.  ``assertions`` are ``{name, passed, expected, actual}`` dicts.
    ``id`` is ``None`` until the record is read back from the store.
    """

    run_id: str
    check: str
    kind: str  # http | flow | browser | websocket
    region: str
    started_at: datetime
    duration_ms: float
    status: Status
    attempts: int
    message: str
    timings: dict[str, float]  # milliseconds by phase
    assertions: list[dict[str, object]]
    details: dict[str, object]
    artifacts: list[str]
    id: int | None = None
