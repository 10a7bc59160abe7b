"""The failure reason in alert templates and notifications, by the engine over a real store
(SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from monitor.alerting.notification import Notification
from monitor.store import ResultRecord
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
    min_regions: 2
    annotations:
      summary: "{{ check }} failing: {{ reason }}"
"""


def failing(region: str, minutes: float, reason: FailureReason) -> ResultRecord:
    return replace(result("api", region, minutes, "fail"), reason=reason)


class TestReason:
    async def test_the_summary_template_and_the_notification_name_the_reasons(
        self, make_harness: MakeHarness
    ) -> None:
        """Two bad regions, one timing out and one failing DNS: both reasons, joined, once each;
        an older reason of a region that has failed since differently is not among them."""
        harness = await make_harness(loaded_config(RULES, regions=("eu", "us")))
        await harness.add(
            failing("eu", 0, FailureReason.CONNECT),
            failing("eu", 1, FailureReason.TIMEOUT),
            failing("us", 1, FailureReason.DNS),
        )
        await harness.evaluate(2)
        (row,) = await harness.outbox()
        n = Notification.from_json(row.payload)
        assert (n.kind, n.reason) == ("firing", "dns, timeout")
        assert n.summary == "api failing: dns, timeout"
