"""The evidence ledger and the reason of a notification, built by the engine over a real store
(SQLite and PostgreSQL): per region, runs, failed assertion, timings beside the day's p50."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from monitor.alerting.ledger import RegionEvidence
from monitor.alerting.notification import Notification
from monitor.store import ResultRecord
from monitor.store.artifacts import ArtifactRecord, upsert_artifact
from probes.reasons import FailureReason
from tests.alerting.conftest import MakeHarness, loaded_config, result

RULES = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: 5m
    notify: ["webhook:ops"]
    confirm: {failures: 1, of: 1}
    min_samples: 1
    annotations:
      summary: "{{ check }} failing: {{ reason }}"
"""
PUBLIC = "https://smokewatch.example.com"


def failing(minutes: float, total_ms: float, region: str = "eu") -> ResultRecord:
    """A timed-out run, as the runner stores it: reason, failed assertion, connect timing."""
    return replace(
        result("api", region, minutes, "fail", attempts=3, total_ms=total_ms),
        reason=FailureReason.TIMEOUT,
        message="timed out after 2 s",
        timings={"connect": total_ms - 1.0, "total": total_ms},
        assertions=[
            {"name": "status", "passed": False, "expected": "2xx", "actual": "no response"}
        ],
    )


class TestLedger:
    async def test_a_firing_notification_carries_reason_and_ledger(
        self, make_harness: MakeHarness
    ) -> None:
        """A day of fast passes, then a timeout: the ledger shows it beside the usual values."""
        harness = await make_harness(loaded_config(RULES, regions=("eu",), public_url=PUBLIC))
        # Passes over the last day (minutes before T0), total 10..50 ms: p50 30 ms.
        passes = [
            replace(result("api", "eu", -60.0 * (h + 1), "pass", total_ms=10.0 * (h + 1)),
                    timings={"connect": 2.0, "total": 10.0 * (h + 1)})
            for h in range(5)
        ]  # fmt: skip
        older = result("api", "eu", -26 * 60.0, "pass", total_ms=9000.0)  # beyond the day
        await harness.add(older, *reversed(passes), failing(1, 2000.0))
        await harness.evaluate(2)
        (row,) = await harness.outbox()
        n = Notification.from_json(row.payload)
        assert (n.kind, n.reason, n.summary) == ("firing", "timeout", "api failing: timeout")
        (ledger,) = n.evidence
        assert ledger == RegionEvidence(
            region="eu",
            status="fail",
            reason="timeout",
            message="timed out after 2 s",
            attempts=3,
            runs=ledger.runs,
            failed=ledger.failed,
            timings=ledger.timings,
            artifacts=(),
            result_id=ledger.result_id,
        )
        assert [(r.status, r.reason, r.attempts) for r in ledger.runs] == [
            ("fail", "timeout", 3),
            *[("pass", None, 1)] * 4,
        ]
        assert [(a.name, a.expected, a.actual) for a in ledger.failed] == [
            ("status", "2xx", "no response")
        ]
        # p50 (nearest rank) of the day's six measured runs, this one included.
        assert [(t.phase, t.ms, t.p50_ms) for t in ledger.timings] == [
            ("connect", 1999.0, 2.0),
            ("total", 2000.0, 30.0),
        ]

    async def test_the_ledger_links_the_failing_runs_artifacts(
        self, make_harness: MakeHarness
    ) -> None:
        """An artifact stored with the failing result is linked under ``api.public_url``."""
        harness = await make_harness(loaded_config(RULES, regions=("eu",), public_url=PUBLIC))
        result_id = await harness.store.add(failing(1, 2000.0))
        async with harness.store.connection("test", write=True) as conn:
            await upsert_artifact(
                conn,
                ArtifactRecord(
                    result_id=result_id,
                    check="api",
                    name="response.txt",
                    size=3,
                    content_type="text/plain",
                    key=f"{result_id}/response.txt",
                    created_at=datetime.now(UTC),
                ),
            )
        await harness.evaluate(2)
        (row,) = await harness.outbox()
        (ledger,) = Notification.from_json(row.payload).evidence
        assert [(a.name, a.url) for a in ledger.artifacts] == [
            ("response.txt", f"{PUBLIC}/api/v1/results/{result_id}/artifacts/response.txt")
        ]
