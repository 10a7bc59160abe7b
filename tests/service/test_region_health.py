"""Region self-health end to end: a Service (scheduler, store, alerting, deliverer) probes the
demo target on 127.0.0.1 while its control check cannot reach its known-good target; the one
``region_unhealthy`` alert reaches a real webhook receiver and no check alert follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.alerts import AlertStore
from probes.base import Status
from tests.alerting.webhook import WebhookReceiver
from tests.service.conftest import HEALTH, STATUS, StartService, WriteConfig, eventually
from tests.support.processes import free_port

pytestmark = pytest.mark.timeout(120)

RULES = """\
alerts:
  - name: down
    condition: smoke_test.success < 0.9
    window: 1m
    notify: ["webhook:ops"]
    checks: [health, status]
"""
SETTLE_RUNS = 3  # more runs of every check after the alert: a per-check alert would show


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver().start()
    try:
        yield running
    finally:
        running.stop()


def config_with_control(write_config: WriteConfig, receiver: WebhookReceiver) -> Path:
    """health and status on the demo target; canary (control) on a port nobody listens on."""
    canary = f"- name: canary\n  kind: http\n  url: http://127.0.0.1:{free_port()}/\n"
    canary += "  control: true\n"
    path = write_config(HEALTH + STATUS + canary, interval="1s")
    (path.parent / "alert-rules.yaml").write_text(RULES)
    head = (
        "regions: [eu]\n"
        "alerting:\n"
        "  evaluate_every: 1s\n"
        f"  channels: {{webhooks: {{ops: {{url: '{receiver.url}'}}}}}}\n"
    )
    text = path.read_text().replace("alert_rules: null", "alert_rules: alert-rules.yaml")
    path.write_text(head + text)
    return path


class TestRegionUnhealthy:
    async def test_one_infrastructure_alert_and_suspect_results(
        self, write_config: WriteConfig, start_service: StartService, receiver: WebhookReceiver
    ) -> None:
        """The control fails from the start: one region_unhealthy firing notification, the
        other checks' results stored suspect, and nothing else sent."""
        running = await start_service(config_with_control(write_config, receiver), region="eu")
        store = running.service.store

        async def notified() -> bool:
            return bool(receiver.received)

        await eventually(notified, timeout_s=30)
        [first] = receiver.received
        labels = first.body["alerts"][0]["labels"]
        assert (labels["alertname"], labels["region"], first.body["status"]) == (
            "region_unhealthy",
            "eu",
            "firing",
        )
        stored_at_alert = len(await store.results("health", region="eu"))

        async def settled() -> bool:
            return len(await store.results("health", region="eu")) >= stored_at_alert + SETTLE_RUNS

        await eventually(settled, timeout_s=30)
        assert len(receiver.received) == 1
        # Newest first: every run since the alert (the canary failing) is suspect.
        health = (await store.results("health", region="eu"))[:SETTLE_RUNS]
        assert {r.status for r in health} == {Status.SUSPECT}
        assert health[0].details["suspect"] == {"status": "pass", "controls": ["canary"]}
        alerts = await AlertStore(store).alert_states()
        assert [(a.alert_key, a.state) for a in alerts] == [("region_unhealthy/eu", "firing")]
