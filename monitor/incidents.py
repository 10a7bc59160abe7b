"""Incidents from check runs: a ``fail`` opens one per (check, region), a success resolves it.

``error`` changes nothing: the probe could not run, which is no evidence about
the target either way.  (Issue 6 makes incidents follow firing alerts instead.)
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.runner import CheckRun
from monitor.store import ResultStore
from probes.base import Status

_RESOLVING = frozenset({Status.PASS, Status.DEGRADED})


async def track_incidents(store: ResultStore, runs: Sequence[CheckRun]) -> None:
    """Open or resolve each run's (check, region) incident, in the order the runs started.

    Idempotent: an open incident is not opened twice, a resolved one not resolved again.
    """
    for run in sorted(runs, key=lambda r: r.started_at):
        if run.status is Status.FAIL:
            await store.open_incident(
                run.check, run.region, started_at=run.started_at, message=run.result.message
            )
        elif run.status in _RESOLVING:
            await store.resolve_incident(run.check, run.region, resolved_at=run.started_at)
