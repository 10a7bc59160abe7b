"""Replaying the spool into the store once it answers again, oldest first, then alerting.

    replayer = Replayer(spool, log=log)
    report = await replayer.replay(store, alerting)   # one pass: how many stored, how many left

A pass stores the results that waited when it began, in spool order, in batches,
dropping each batch from the spool once the store holds it; it stops at the first
result the store cannot take (still unreachable) and the next pass resumes there.  A
crash between storing a batch and dropping it replays that batch again, which stores
nothing twice (``ResultStore.add`` is idempotent).  A result the store refuses while
it answers (``SELECT 1`` works) would block the spool for good: tried ``TRIES`` times, each
after the store answered, it is moved to ``<spool>.rejected`` and logged.

A spooled result's evidence waited as files in ``runner.artifacts_dir`` (their
absolute paths in the record's ``artifacts``): once the result is stored, with
``artifacts`` the names, the files become its artifacts (``ArtifactStore``).

Alert rules are evaluated after a pass, at the current time, for the checks whose
results were replayed: a rule then sees every result of the outage in the store.  A
state that began and ended wholly inside the outage (a failure that had already
recovered by the time the store came back) raises no alert; notifications could not
have been written during the outage anyway (the outbox is in the store).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from monitor.alerting.hub import Alerting
from monitor.artifacts.ingest import artifact_names, store_evidence
from monitor.artifacts.store import ArtifactStore
from monitor.runtime.spool import Spool
from monitor.store import ResultRecord, ResultStore, StoreError, StoreUnavailable

BATCH = 200
REJECTED_SUFFIX = ".rejected"
# Tries of one result before it is set aside, each after the store answered ``SELECT 1``:
# an error that passes by itself (a server finishing its start-up answers the first
# connection "starting up" and the ping just after) must never cost a result.
TRIES = 2

_Next = Literal["more", "stop", "reject"]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """One pass: how many results reached the store, how many still wait, how long it took."""

    replayed: int
    left: int
    seconds: float
    checks: frozenset[str]


class Replayer:
    """Drains one :class:`Spool` into whichever store is current; one pass at a time."""

    def __init__(self, spool: Spool, *, log: Any, batch: int = BATCH) -> None:
        self.spool = spool
        self._log = log
        self._batch = batch
        self._lock = asyncio.Lock()
        self.last: ReplayReport | None = None

    async def replay(
        self,
        store: ResultStore,
        alerting: Alerting | None = None,
        artifacts: ArtifactStore | None = None,
    ) -> ReplayReport:
        """Store what the spool holds, oldest first, until it is empty or the store fails;
        with ``artifacts``, each result's waiting evidence files too."""
        async with self._lock:
            started = time.monotonic()
            checks: set[str] = set()
            replayed = 0
            # A spool file nobody writes is not created (nor its lock) just to look at it.
            if (self.spool.owned or self.spool.path.exists()) and self.spool.claim():
                # At most what waited when the pass began: results spooled meanwhile wait
                # for the next pass, so a pass (and the alert evaluation after it) ends.
                left = self.spool.pending
                while left > 0 and self.spool.pending:
                    done, then = await self._store_batch(
                        store, artifacts, checks, min(left, self._batch)
                    )
                    self.spool.drop_head(done)
                    replayed += done
                    left -= done
                    if then == "reject":
                        self.spool.set_aside(REJECTED_SUFFIX)  # the head: the refused result
                        left -= 1
                    elif then == "stop":
                        break
            report = ReplayReport(
                replayed, self.spool.pending, time.monotonic() - started, frozenset(checks)
            )
        if replayed:
            self.last = report
            self._log.info(
                "spool.replayed",
                results=replayed,
                left=report.left,
                seconds=round(report.seconds, 3),
            )
            if alerting is not None:
                await alerting.after_checks(checks)
        return report

    async def _store_batch(
        self, store: ResultStore, artifacts: ArtifactStore | None, checks: set[str], count: int
    ) -> tuple[int, _Next]:
        """Store ``count`` results from the spool's head; how many were stored, and what the
        pass does next."""
        done = 0
        for spooled in self.spool.head(count):
            files = [p for p in spooled.artifacts if Path(p).is_absolute()]
            record = replace(spooled, artifacts=artifact_names(files)) if files else spooled
            failure: StoreError | None = None
            for _ in range(TRIES):
                try:
                    await _store_one(store, artifacts, record, files, log=self._log)
                    break
                except StoreUnavailable:
                    return done, "stop"
                except StoreError as exc:
                    if not await _answers(store):
                        return done, "stop"
                    failure = exc  # answering again: try once more before setting it aside
            else:
                self._log.error(
                    "spool.result_rejected",
                    check=record.check,
                    run_id=record.run_id,
                    reason=str(failure),
                    tries=TRIES,
                    kept_in=str(self.spool.path) + REJECTED_SUFFIX,
                )
                return done, "reject"
            done += 1
            checks.add(record.check)
        return done, "more"


async def _store_one(
    store: ResultStore,
    artifacts: ArtifactStore | None,
    record: ResultRecord,
    files: list[str],
    *,
    log: Any,
) -> None:
    """Store one spooled result and its waiting evidence files (idempotent: a second try
    of a result already stored finds its id)."""
    result_id = await store.add(record)
    if artifacts is not None and files:
        await store_evidence(
            artifacts, result_id, record.check, files=files, public_url=None, log=log
        )


async def _answers(store: ResultStore) -> bool:
    try:
        await store.ping()
    except StoreError:
        return False
    return True
