"""A smokewatch instance that test_crash.py SIGKILLs at a chosen point.

    python -m tests.alerting.crash_worker MODE DATABASE_URL WEBHOOK_URL NOW

Evaluates the ``down`` rule at ``NOW`` (a stored failure makes it fire: the state change
and its outbox row are committed), prints ``written``, then:

* ``evaluate``: waits, never delivering (killed between state change and delivery);
* ``send``: delivers; the test's receiver records the request and holds it, and the
  test kills this process before the answer comes (killed after send, before mark);
* ``claim``: delivers through a notifier that prints ``sending`` and stalls (killed
  after claiming the row, before anything was sent).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from monitor.alerting.hub import Alerting
from monitor.alerting.notification import Notification, Notifier
from monitor.config.alerting import AlertingSettings
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.store import ResultStore
from tests.alerting.conftest import loaded_config
from tests.alerting.test_engine import down
from tests.alerting.webhook import WebhookNotifier

STALL_S = 3600.0


class StallingNotifier:
    channel = "webhook"

    async def send(self, notification: Notification) -> None:
        print("sending", flush=True)
        await asyncio.sleep(STALL_S)

    async def close(self) -> None:
        return None


async def main(mode: str, url: str, webhook: str, now_text: str) -> None:
    now = datetime.fromisoformat(now_text)
    store = await ResultStore.open(url)
    notifier: Notifier = StallingNotifier() if mode == "claim" else WebhookNotifier(webhook)
    hub = Alerting(
        loaded_config(down()),
        store,
        {"webhook": notifier},
        settings=AlertingSettings(),
        log=make_logger(Redactor(), fmt="json", stream=sys.stderr),
        clock=lambda: now,
    )
    await hub.evaluate()
    print("written", flush=True)
    if mode != "evaluate":
        await hub.deliver_due()
        print("delivered", flush=True)  # the test kills us before this
    await asyncio.sleep(STALL_S)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
