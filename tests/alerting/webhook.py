"""A real webhook receiver on loopback and a tiny notifier posting to it.

The real notifiers (Slack, e-mail, ...) are tested in ``tests/alerting/notifiers``;
the engine and deliverer tests need one channel whose outages they control:
:class:`WebhookReceiver` answers with scripted statuses (``fail_next``), can hold a
request until released (``hold``), and records every notification it received.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from monitor.alerting.notification import DeliveryError, Notification

HOLD_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Received:
    key: str
    body: dict[str, Any]
    at: float = field(default_factory=time.time)  # arrival, wall clock (the live chaos bench)


@dataclass
class _Script:
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    retry_after: str | None = None
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)


class WebhookReceiver:
    """``ThreadingHTTPServer`` on 127.0.0.1 in a thread: POST / records and answers."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.attempts = 0
        self._lock = threading.Lock()
        self._script = _Script()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                script = receiver._script
                with receiver._lock:
                    receiver.attempts += 1
                    status = script.statuses.pop(0) if script.statuses else 200
                    if status == 200:
                        receiver.received.append(Received(self.headers["Idempotency-Key"], body))
                script.arrived.set()
                if script.hold is not None:
                    script.hold.wait(HOLD_TIMEOUT_S)
                self.send_response(status)
                if status != 200 and script.retry_after is not None:
                    self.send_header("Retry-After", script.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._script.hold is not None:
            self._script.hold.set()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *statuses: int, retry_after: str | None = None) -> None:
        """Answer the next requests with ``statuses`` (then 200 again)."""
        with self._lock:
            self._script.statuses = list(statuses)
            self._script.retry_after = retry_after

    def hold(self) -> threading.Event:
        """Keep every request waiting (after recording it) until the returned event is set."""
        self._script.hold = threading.Event()
        return self._script.hold

    def wait_arrival(self, timeout_s: float = HOLD_TIMEOUT_S) -> bool:
        return self._script.arrived.wait(timeout_s)

    def keys(self) -> list[str]:
        with self._lock:
            return [r.key for r in self.received]


class WebhookNotifier:
    """POSTs ``Notification.to_json()`` with an ``Idempotency-Key`` header; maps failures as the
    real notifiers do: 429/5xx and connection errors are retryable, other 4xx are not."""

    channel = "webhook"

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)
        self._url = url

    async def send(self, notification: Notification) -> None:
        try:
            response = await self._client.post(
                self._url,
                json=notification.to_json(),
                headers={"Idempotency-Key": notification.key},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        if response.status_code < 300:
            return
        retry_after = response.headers.get("Retry-After")
        raise DeliveryError(
            f"webhook answered {response.status_code}",
            retryable=response.status_code == 429 or response.status_code >= 500,
            retry_after_s=float(retry_after) if retry_after else None,
        )

    async def close(self) -> None:
        await self._client.aclose()
