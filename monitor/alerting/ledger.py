"""The evidence ledger of an alert: per region, what the newest runs saw and why they failed.

A notification carries one :class:`RegionEvidence` per bad region: the newest runs with
their outcomes and attempts, the assertions the failing run broke (expected vs actual),
its phase timings next to the region's usual values (the p50 of the last day's measured
runs, nearest rank as the store computes it), its failure reason and links to its
artifacts.  Slack, e-mail and webhook render it each in their own format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from monitor.artifacts.links import artifact_url
from monitor.store.artifacts import ArtifactRecord
from monitor.store.records import ResultRecord
from monitor.store.summaries import nearest_rank
from probes.base import Status

LEDGER_KINDS: Final = frozenset({"firing", "reminder"})  # the notifications that carry one
RUNS_SHOWN: Final = 5
ASSERTIONS_SHOWN: Final = 3
USUAL_WINDOW: Final = timedelta(days=1)  # the p50 next to each phase covers this much
_BAD: Final = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One run of the check in the region: when, its status and reason, how many attempts."""

    at: datetime
    status: str
    reason: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class FailedAssertion:
    name: str
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    """A phase of the failing run, and the region's p50 of it over the last day."""

    phase: str
    ms: float
    p50_ms: float | None


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class RegionEvidence:
    """What one region saw: the failing run (the newest ``fail``/``error``, else the newest)."""

    region: str
    status: str
    reason: str | None
    message: str
    attempts: int
    runs: tuple[RunOutcome, ...]  # newest first
    failed: tuple[FailedAssertion, ...]
    timings: tuple[PhaseTiming, ...]
    artifacts: tuple[EvidenceLink, ...]
    result_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["runs"] = [{**asdict(r), "at": r.at.isoformat()} for r in self.runs]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegionEvidence:
        return cls(
            region=data["region"],
            status=data["status"],
            reason=data.get("reason"),
            message=data["message"],
            attempts=data["attempts"],
            runs=tuple(
                RunOutcome(**{**r, "at": datetime.fromisoformat(r["at"])}) for r in data["runs"]
            ),
            failed=tuple(FailedAssertion(**a) for a in data["failed"]),
            timings=tuple(PhaseTiming(**t) for t in data["timings"]),
            artifacts=tuple(EvidenceLink(**a) for a in data["artifacts"]),
            result_id=data.get("result_id"),
        )


def failing_run(records: Sequence[ResultRecord]) -> ResultRecord | None:
    """The newest ``fail`` or ``error`` of ``records`` (oldest first), else the newest one."""
    bad = [r for r in records if r.status in _BAD]
    if bad:
        return bad[-1]
    return records[-1] if records else None


def reasons_text(records: Iterable[ResultRecord], regions: Iterable[str]) -> str:
    """The failure reasons of the newest failing run of each region, distinct, joined."""
    by_region: dict[str, list[ResultRecord]] = {}
    for record in records:
        by_region.setdefault(record.region, []).append(record)
    found = {
        run.reason.value
        for region in regions
        if (run := failing_run(by_region.get(region, []))) is not None
        and run.status in _BAD
        and run.reason is not None
    }
    return ", ".join(sorted(found))


def build_ledger(
    records: Sequence[ResultRecord],
    regions: Iterable[str],
    *,
    artifacts: Mapping[int, Sequence[ArtifactRecord]],
    public_url: str | None,
    text: Callable[[str], str],
) -> tuple[RegionEvidence, ...]:
    """The ledger of ``regions`` from one check's results (oldest first) of the last day.

    ``text`` redacts every string taken from a result.
    """
    out: list[RegionEvidence] = []
    for region in regions:
        mine = [r for r in records if r.region == region]
        run = failing_run(mine)
        if run is None:
            continue
        out.append(
            RegionEvidence(
                region=region,
                status=run.status.value,
                reason=run.reason.value if run.reason is not None else None,
                message=text(run.message),
                attempts=run.attempts,
                runs=tuple(_outcome(r) for r in reversed(mine[-RUNS_SHOWN:])),
                failed=_failed(run, text),
                timings=_timings(run, mine),
                artifacts=tuple(
                    EvidenceLink(a.name, artifact_url(public_url, a.result_id, a.name))
                    for a in artifacts.get(run.id or 0, ())
                ),
                result_id=run.id,
            )
        )
    return tuple(out)


def _outcome(record: ResultRecord) -> RunOutcome:
    reason = record.reason.value if record.reason is not None else None
    return RunOutcome(record.started_at, record.status.value, reason, record.attempts)


def _failed(run: ResultRecord, text: Callable[[str], str]) -> tuple[FailedAssertion, ...]:
    failed = [a for a in run.assertions if a.get("passed") is False]
    return tuple(
        FailedAssertion(text(str(a["name"])), text(str(a["expected"])), text(str(a["actual"])))
        for a in failed[:ASSERTIONS_SHOWN]
    )


def _timings(run: ResultRecord, records: Sequence[ResultRecord]) -> tuple[PhaseTiming, ...]:
    """Each phase of ``run`` beside its p50 over the region's measured runs of the window."""
    measured = [r for r in records if r.status.measured]
    out = []
    for phase, ms in run.timings.items():
        values = sorted(
            float(value) for r in measured if isinstance(value := r.timings.get(phase), int | float)
        )
        p50 = values[nearest_rank(0.5, len(values)) - 1] if values else None
        out.append(PhaseTiming(phase, round(float(ms), 1), None if p50 is None else round(p50, 1)))
    return tuple(out)
