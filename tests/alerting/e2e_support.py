"""Parts of the alerting end-to-end tests (``test_e2e.py``).

A ``smokewatch.yaml`` + ``alert-rules.yaml`` pair for ``smokewatch serve`` on short
intervals, whose channels point at loopback servers; an SMTP server (aiosmtpd, with the
notifier tests' :class:`MailHandler`) and an HTTP receiver that can be down (nothing
listening on their port), up, or up and refusing, and come back on the same port;
readers for what the channels received; and waits that never block the event loop
the SMTP server runs in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from monitor.alerting.outbox import incident_id, outbox_key
from monitor.store import AlertStore, OutboxRecord, ResultStore
from tests.alerting.notifiers.servers import HOST, MailHandler, Received, free_port
from tests.service.conftest import ServeProcess

RULE = "smoke_test_failure"
CHECK = "health"
REGION = "local"  # serve without a region: monitor.runtime.runtime.DEFAULT_REGION
ALERT_KEY = f"{RULE}/{CHECK}/{REGION}"
CONDITION = "smoke_test.success < 0.9"
EMAIL_TARGET = "oncall@example.com"
SLACK_TARGET = "slack:#alerts"
FROM_ADDRESS = "smokewatch@example.com"
STATUS_PAGE = "https://status.example.com/"
RUNBOOK = f"https://runbooks.example.com/{RULE}"
BOT_TOKEN = "xoxb-e2e-0000-secret-token"  # fake: the test checks it never leaks
WINDOW = "3s"  # short, so the alert resolves a few seconds after the fault is switched off
SUMMARY = "{{ check }} in {{ regions | join(', ') }}: success ratio {{ value_text }}"
LOG_TAIL_CHARS = 3000
STEP_S = 0.05
TEMPFAIL = "451 4.3.0 mailbox busy, try again later"

CONFIG = """\
defaults:
  retries: 0
  timeout: 5s
  interval: 1s
rate_limit:
  fraction: 1.0
  default: {{limit: 100000}}
scheduler:
  jitter: 0s
  lease_poll: 200ms
  shutdown_grace: 5s
  run_at_start: true
storage:
  url: {db}
logging:
  format: json
  level: info
api:
  public_url: {status_page}
alert_rules: {rules}
alerting:
  evaluate_every: 1s
  delivery:
    backoff: {{initial: 500ms, factor: 2, max: 1s}}
    poll_interval: 200ms
    max_attempts: 100{delivery}
  channels: {channels}
checks:
  - name: {check}
    kind: http
    url: ${{TARGET}}/health
"""

RULES = """\
alerts:
  - name: {rule}
    condition: {condition}
    window: {window}
    severity: critical
    notify: {notify}
    annotations:
      summary: {summary}
      runbook_url: "https://runbooks.example.com/{{{{ rule }}}}"
"""


def write_config(
    directory: Path,
    *,
    db: str,
    channels: dict[str, Any],
    notify: Sequence[str],
    delivery: dict[str, str] | None = None,
) -> Path:
    """``smokewatch.yaml`` (one check on the demo target's /health, 1 s apart) and the
    spec's failure rule over a short window in ``alert-rules.yaml`` next to it;
    ``delivery``: more ``alerting.delivery`` settings."""
    rules = directory / "alert-rules.yaml"
    rules.write_text(
        RULES.format(
            rule=RULE,
            condition=CONDITION,
            window=WINDOW,
            notify=json.dumps(list(notify)),
            summary=json.dumps(SUMMARY),
        )
    )
    config = directory / "smokewatch.yaml"
    config.write_text(
        CONFIG.format(
            db=db,
            status_page=STATUS_PAGE,
            rules=rules,
            channels=json.dumps(channels),  # JSON is YAML (flow style)
            check=CHECK,
            delivery="".join(f"\n    {k}: {v}" for k, v in (delivery or {}).items()),
        )
    )
    return config


def short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def utc_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


# --- waiting ---------------------------------------------------------------------------


async def until(
    predicate: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    serve: ServeProcess | None = None,
) -> float:
    """Sleep in the loop until ``predicate()`` holds; the seconds it took.  Fails after
    ``timeout_s`` naming ``what``, with the end of the service's log."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            log = serve.text()[-LOG_TAIL_CHARS:] if serve is not None else ""
            pytest.fail(f"{what}: not within {timeout_s} s\n{log}")
        await asyncio.sleep(STEP_S)
    return time.monotonic() - t0


def events(serve: ServeProcess, name: str, **fields: Any) -> list[dict[str, Any]]:
    """The service's log events called ``name`` whose fields include ``fields``."""
    found: list[dict[str, Any]] = []
    for line in serve.text().splitlines(keepends=True):
        if not line.startswith("{") or not line.endswith("\n"):
            continue  # not a log event, or one still being written
        event = json.loads(line)
        if event.get("event") == name and all(event.get(k) == v for k, v in fields.items()):
            found.append(event)
    return found


async def stop(serve: ServeProcess, timeout_s: float) -> int:
    """SIGTERM, then the exit code (bounded)."""
    serve.proc.terminate()
    return await asyncio.to_thread(serve.proc.wait, timeout_s)


async def outbox(db: str) -> list[OutboxRecord]:
    """Every outbox row the service wrote, oldest first."""
    store = await ResultStore.open(db, migrate=False)
    try:
        rows = await AlertStore(store).outbox_rows(limit=1000)
    finally:
        await store.close()
    return sorted(rows, key=lambda r: r.id)


async def installation(db: str) -> str:
    """The installation id the service's database was made with."""
    store = await ResultStore.open(db, migrate=False)
    try:
        return await AlertStore(store).installation_id()
    finally:
        await store.close()


def expected_key(installation: str, row: OutboxRecord, seq: int) -> str:
    """What the key of ``row`` must be: its installation, incident start, number, kind, target."""
    since = datetime.fromisoformat(row.payload["since"])
    incident = incident_id(installation, row.alert_key, since)
    return outbox_key(incident, seq, row.payload["kind"], row.target)


# --- SMTP ------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd on a fixed loopback port in the running loop: down (nothing listens), up,
    or up and deferring every recipient with a 4xx; it keeps what it accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = MailHandler()
        self._server: asyncio.Server | None = None

    async def up(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="mail.test"), HOST, self.port
        )

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def defer(self, on: bool) -> None:
        """Answer every RCPT with a temporary failure (on) or accept again (off)."""
        self.handler.refuse_rcpt = TEMPFAIL if on else None

    def messages(self) -> list[EmailMessage]:
        return [d.message for d in self.handler.delivered]


def plain_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # as sent: CRLF line ends


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # as sent: CRLF line ends


_FACT_LINE = re.compile(r"^([A-Z][A-Za-z ]+):[ ]+(.+)$", re.MULTILINE)
_HTML_ROW = re.compile(r"<tr><th[^>]*>([^<]+)</th><td>([^<]*)</td></tr>")


def mail_facts(message: EmailMessage) -> dict[str, str]:
    """``Label: value`` lines of the plain part (the facts, the links, and the title)."""
    return dict(_FACT_LINE.findall(plain_part(message)))


def html_facts(message: EmailMessage) -> dict[str, str]:
    """The rows of the HTML part's fact table (values still HTML-escaped)."""
    return dict(_HTML_ROW.findall(html_part(message)))


def parse_mail_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)


# --- Slack -----------------------------------------------------------------------------

_SLACK_DATE = re.compile(r"^<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|(.+)>$")


def slack_blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    attachments = payload["attachments"]
    assert len(attachments) == 1
    blocks: list[dict[str, Any]] = attachments[0]["blocks"]
    return blocks


def slack_facts(payload: dict[str, Any]) -> dict[str, str]:
    """The ``*Label*\\nvalue`` fields of the message, by label (mrkdwn-escaped values)."""
    fields = next(b["fields"] for b in slack_blocks(payload) if "fields" in b)
    facts: dict[str, str] = {}
    for item in fields:
        assert item["type"] == "mrkdwn"
        label, value = item["text"].removeprefix("*").split("*\n", 1)
        facts[label] = value
    return facts


def slack_texts(payload: dict[str, Any], kind: str) -> list[str]:
    """The texts of the blocks of ``kind`` (``section`` without fields, ``context`` ...)."""
    found: list[str] = []
    for block in slack_blocks(payload):
        if block["type"] != kind or "fields" in block:
            continue
        if kind == "context":
            found += [e["text"] for e in block["elements"]]
        else:
            found.append(block["text"]["text"])
    return found


def slack_time(value: str) -> tuple[datetime, str]:
    """A Slack ``<!date^ts^...|fallback>`` as (the moment, the fallback text)."""
    match = _SLACK_DATE.match(value)
    assert match is not None, value
    return datetime.fromtimestamp(int(match.group(1)), UTC), match.group(2)


# --- HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One request and the status it was answered with."""

    request: Received
    status: int


class Receiver:
    """An HTTP receiver on a fixed loopback port: down (nothing listens) or up, answering every
    POST with the current ``status`` (and ``Retry-After`` when refusing); it records each
    request with its answer, so what was delivered (200) is told from what was refused."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[Hit] = []
        self._status = 200
        self._retry_after: str | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def answer(self, status: int, *, retry_after: str | None = None) -> None:
        with self._lock:
            self._status, self._retry_after = status, retry_after

    def delivered(self) -> list[Received]:
        with self._lock:
            return [h.request for h in self.hits if h.status == 200]

    def refused(self) -> int:
        with self._lock:
            return sum(1 for h in self.hits if h.status != 200)

    def _record(self, request: Received) -> tuple[int, str | None]:
        with self._lock:
            self.hits.append(Hit(request, self._status))
            return self._status, self._retry_after

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, retry_after = receiver._record(Received("POST", self.path, headers, body))
                out = b"ok" if status == 200 else b"unavailable"
                self.send_response(status)
                if status != 200 and retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer((HOST, self.port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": STEP_S})
        thread.start()
        self._server, self._thread = server, thread

    def down(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
        self._server = self._thread = None
