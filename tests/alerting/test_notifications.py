"""What the engine writes besides states: notification payloads, incidents, run-time silences,
and the evaluation after a run."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

from monitor.alerting.hub import Alerting
from monitor.alerting.notification import Notification
from monitor.config.alerting import AlertingSettings
from monitor.runner import CheckRun
from monitor.store import ResultStore
from probes.base import ProbeResult, Status
from tests.alerting.conftest import SPEC_RULES, MakeHarness, at, loaded_config, result
from tests.alerting.test_engine import down


class TestPayload:
    async def test_spec_firing_and_resolved_fields(self, make_harness: MakeHarness) -> None:
        """The spec rule's firing and resolved notifications carry every field, in base units."""
        loaded = loaded_config(SPEC_RULES.read_text(), public_url="https://status.example.com")
        harness = await make_harness(loaded)
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)  # one failing run is not enough (2 of 3 by default)
        await harness.add(result("api", "eu", 1, "fail"))
        await harness.evaluate(1)
        await harness.add(result("api", "eu", 30, "pass"))
        await harness.evaluate(30)
        rows = await harness.outbox()
        firing, resolved = (
            Notification.from_json(r.payload) for r in rows if r.target == "slack:#alerts"
        )
        assert (firing.kind, firing.rule, firing.severity, firing.check) == (
            "firing",
            "smoke_test_failure",
            "critical",
            "api",
        )
        assert (firing.condition, firing.value, firing.threshold) == (
            "smoke_test.success < 0.9",
            0.0,
            0.9,
        )
        assert (firing.regions, firing.since, firing.at) == (("eu",), at(1), at(1))
        assert firing.alert_key == "smoke_test_failure/api/eu"
        assert firing.status_page_url == "https://status.example.com"
        assert "api" in firing.summary
        assert "0.00" in firing.summary
        assert firing.labels["alertname"] == "smoke_test_failure"
        assert (resolved.kind, resolved.value, resolved.since, resolved.at) == (
            "resolved",
            1.0,  # the good run that resolved it (the window still holds two failures)
            at(1),
            at(30),
        )
        assert resolved.alert_key == firing.alert_key
        assert resolved.key != firing.key
        assert {r.channel for r in rows} == {"email", "slack"}

    async def test_min_regions_names_the_bad_regions(self, make_harness: MakeHarness) -> None:
        """An aggregated alert names the regions that failed and the worst region's value."""
        harness = await make_harness(loaded_config(down(window="10m", rule="min_regions: 2")))
        statuses = {"eu": "pff", "us": "pfff", "ap": "pp"}  # 1/3, 1/4 and 1 passing
        for region, letters in statuses.items():
            for minute, letter in enumerate(letters):
                await harness.add(
                    result("api", region, minute, "fail" if letter == "f" else "pass")
                )
        await harness.evaluate(5)
        (row,) = await harness.outbox()
        sent = Notification.from_json(row.payload)
        assert (sent.regions, sent.value, sent.alert_key) == (("eu", "us"), 0.25, "down/api/*")

    async def test_annotations_rendered(self, make_harness: MakeHarness) -> None:
        """Annotation templates render with the alert's values; runbook_url is passed on."""
        rules = down(
            rule="annotations:\n  summary: '{{ check }} in {{ region }} at {{ value_text }}'\n"
            "  runbook_url: https://runbooks.example.com/{{ rule }}"
        )
        harness = await make_harness(loaded_config(rules))
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        (row,) = await harness.outbox()
        sent = Notification.from_json(row.payload)
        assert sent.summary == "api in eu at 0.00"
        assert sent.runbook_url == "https://runbooks.example.com/down"


class TestIncidents:
    async def test_firing_opens_and_resolving_closes(
        self, make_harness: MakeHarness, store: ResultStore
    ) -> None:
        """A firing alert opens the incident of its check and region; resolving closes it."""
        harness = await make_harness(loaded_config(down()))
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        (opened,) = await store.incidents(open_only=True)
        assert (opened.check, opened.region, opened.started_at) == ("api", "eu", at(0))
        assert "api" in opened.message
        await harness.add(result("api", "eu", 10, "pass"))
        await harness.evaluate(10)
        (closed,) = await store.incidents()
        assert closed.resolved_at == at(10)

    async def test_stays_open_while_another_rule_fires(
        self, make_harness: MakeHarness, store: ResultStore
    ) -> None:
        """Two rules firing for one check share its incident, closed only when both resolved."""
        rules = """
alerts:
  - name: down
    condition: smoke_test.success < 0.5
    window: 5m
    confirm: {failures: 1, of: 1}
    min_samples: 1
  - name: slow
    condition: smoke_test.duration > 1s
    window: 20m
    confirm: {failures: 1, of: 1}
    min_samples: 1
    resolve_after: 2
"""
        harness = await make_harness(loaded_config(rules))
        await harness.add(result("api", "eu", 0, "fail", total_ms=3000))
        await harness.evaluate(0)
        await harness.add(result("api", "eu", 10, "pass", total_ms=100))
        await harness.evaluate(10)  # down resolves; slow is recovering (resolve_after 2)
        assert [i.resolved_at for i in await store.incidents()] == [None]
        await harness.add(result("api", "eu", 25, "pass", total_ms=100))
        await harness.evaluate(25)
        # The outage ended with the first passing run, not with the confirmation.
        assert [i.resolved_at for i in await store.incidents()] == [at(10)]


class TestRunTimeSilences:
    async def test_stored_silence_suppresses_until_expired(self, make_harness: MakeHarness) -> None:
        """A silence added through the store holds notifications; expiring it releases them."""
        harness = await make_harness(loaded_config(down()))
        alerts = harness.alerting.alerts
        silence = await alerts.add_silence(
            matchers={"check": "api"}, starts_at=at(-5), ends_at=at(120), author="ops"
        )
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        assert await harness.outbox() == []
        assert await alerts.expire_silence(silence, at=at(3))
        await harness.evaluate(4)
        assert [r.payload["kind"] for r in await harness.outbox()] == ["firing"]


def check_run(check: str, minutes: float, status: Status) -> CheckRun:
    return CheckRun(
        check=check,
        kind="http",
        region="eu",
        run_id=uuid4().hex,  # each stored run is its own (results are unique per run)
        started_at=at(minutes),
        duration_ms=10.0,
        attempts=1,
        result=ProbeResult(status=status, message="x"),
    )


class TestAfterRuns:
    async def test_evaluates_only_the_checks_run(self, make_harness: MakeHarness) -> None:
        """after_runs evaluates the groups of the checks just run, not the others."""
        harness = await make_harness(loaded_config(down()))
        await harness.add(result("api", "eu", 0, "fail"), result("status", "eu", 0, "fail"))
        harness.clock.set(1)
        report = await harness.alerting.after_runs([check_run("api", 0, Status.FAIL)])
        assert report.transitions == [("down/api/eu", "inactive", "firing")]
        assert [r.alert_key for r in await harness.outbox()] == ["down/api/eu"]

    async def test_never_raises(self, tmp_path: Path, log: Any, log_stream: io.StringIO) -> None:
        """A store that fails (here: never migrated) is logged by after_runs, never raised."""
        async with await ResultStore.open(str(tmp_path / "empty.db"), migrate=False) as empty:
            hub = Alerting(loaded_config(down()), empty, {}, settings=AlertingSettings(), log=log)
            report = await hub.after_runs([check_run("api", 0, Status.FAIL)])
            await hub.stop()
        assert report.applied == 0
        events = [json.loads(line)["event"] for line in log_stream.getvalue().splitlines()]
        assert "alert.evaluation_failed" in events

    async def test_disabled_does_nothing(self, make_harness: MakeHarness) -> None:
        """With alerting disabled, evaluations write nothing."""
        harness = await make_harness(
            loaded_config(down()), settings=AlertingSettings(enabled=False)
        )
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        assert await harness.outbox() == []


class TestNoData:
    async def test_keep_flags_the_group(self, make_harness: MakeHarness) -> None:
        """With no_data keep, a firing group without data stays firing, flagged no data."""
        harness = await make_harness(loaded_config(down()))
        await harness.add(result("api", "eu", 0, "fail"))
        await harness.evaluate(0)
        await harness.evaluate(50)  # nothing in the lookback (45.5 min at a 30 min interval)
        (state,) = await harness.alerting.alerts.alert_states()
        assert (state.state, state.no_data, state.value) == ("firing", True, None)
        await harness.add(result("api", "eu", 52, "fail"))
        await harness.evaluate(52)
        (state,) = await harness.alerting.alerts.alert_states()
        assert (state.state, state.no_data, state.value) == ("firing", False, 0.0)
        assert len(await harness.outbox()) == 1
