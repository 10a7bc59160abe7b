"""Alerting end to end over real protocols: ``smokewatch serve`` (a subprocess) probes the demo
target with a fault switched on; the alert reaches a real SMTP server (aiosmtpd) and a local
HTTP server standing in for Slack, on loopback; the fault is switched off and the resolved
messages follow.  Then the same with the channels down for a while: each notification still
arrives exactly once."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.demo_target import TargetState
from tests.alerting.e2e_support import (
    ALERT_KEY,
    BOT_TOKEN,
    CHECK,
    CONDITION,
    EMAIL_TARGET,
    FROM_ADDRESS,
    REGION,
    RULE,
    RUNBOOK,
    SLACK_TARGET,
    STATUS_PAGE,
    Mailbox,
    Receiver,
    events,
    expected_key,
    html_facts,
    html_part,
    installation,
    mail_facts,
    outbox,
    parse_mail_time,
    plain_part,
    short_hash,
    slack_facts,
    slack_texts,
    slack_time,
    stop,
    until,
    utc_second,
    write_config,
)
from tests.alerting.notifiers.servers import Delivered, HttpServer, Received, Reply, smtp_server
from tests.service import conftest as service
from tests.service.conftest import ServeProcess, StartServe

pytestmark = pytest.mark.timeout(300)

# The service fixtures, for this module: `smokewatch serve` subprocesses on the demo target.
start_serve = service.start_serve
target_env = service.target_env

MESSAGE_TIMEOUT_S = 20.0  # firing: a run, an evaluation, a send; resolved: the 3 s window too
RETRIES_TIMEOUT_S = 20.0
SETTLE_S = 3.0  # three timer evaluations and ~15 deliverer polls: a duplicate would show
STOP_TIMEOUT_S = 30.0
OUTAGE_RETRIES = 2  # failed attempts per channel before it comes back
SLACK_HOOK_PATH = "/services/T000E2E/B000E2E/e2e-hook-secret"
OPS = "webhook:ops"


@dataclass(frozen=True)
class Kind:
    """What a message of one kind says: label, Slack emoji and colour, the value it reports."""

    name: str
    label: str
    emoji: str
    colour: str
    value: str  # as the notifiers write it (the Value fact)
    summary_value: str  # as the summary template writes it
    seq: int  # the group's notification number: part of the idempotency key

    @property
    def summary(self) -> str:
        return f"{CHECK} in {REGION}: success ratio {self.summary_value}"


FIRING = Kind("firing", "FIRING", ":rotating_light:", "#E01E5A", "0", "0.00", 1)
RESOLVED = Kind("resolved", "RESOLVED", ":white_check_mark:", "#2EB67D", "1", "1.00", 2)


@dataclass(frozen=True)
class Times:
    """When the alert started (``Since``) and, in a resolved message, ended (``Resolved``)."""

    since: datetime
    resolved: datetime | None


def check_mail(delivered: Delivered, kind: Kind) -> Times:
    """One alert e-mail, field by field (envelope, headers, plain and HTML parts)."""
    assert delivered.mail_from == FROM_ADDRESS
    assert delivered.rcpt_tos == [EMAIL_TARGET]
    msg = delivered.message
    assert msg["From"] == FROM_ADDRESS
    assert msg["To"] == EMAIL_TARGET
    # A long Subject is folded right after "Subject:"; unfolding leaves the fold's space.
    assert msg["Subject"].strip() == f"[{kind.label}] [critical] {RULE}: {kind.summary}"
    assert re.fullmatch(r"<[0-9a-f]{64}@example\.com>", msg["Message-ID"])  # the row's key
    assert msg["References"] == f"<alert.{short_hash(ALERT_KEY, 32)}@example.com>"
    assert msg["X-Smokewatch-Rule"] == RULE
    assert msg["X-Smokewatch-Severity"] == "critical"
    assert msg["X-Smokewatch-Kind"] == kind.name
    assert msg["Auto-Submitted"] == "auto-generated"
    lines = plain_part(msg).splitlines()
    assert lines[:3] == [f"{kind.label}: {RULE} (critical)", "", kind.summary]
    facts = mail_facts(msg)
    assert facts["Severity"] == "critical"
    assert facts["Check"] == CHECK
    assert facts["Regions"] == REGION
    assert facts["Value"] == f"{kind.value} (threshold < 0.9)"
    assert facts["Condition"] == CONDITION
    assert facts["Runbook"] == RUNBOOK
    assert facts["Status page"] == STATUS_PAGE
    assert ("Resolved" in facts) == (kind is RESOLVED)
    shown = html_facts(msg)
    assert shown["Value"] == f"{kind.value} (threshold &lt; 0.9)"
    assert shown["Check"] == CHECK
    assert shown["Since"] == facts["Since"]
    html = html_part(msg)
    assert f'<a href="{RUNBOOK}">Runbook</a>' in html
    assert f'<a href="{STATUS_PAGE}">Status page</a>' in html
    plain = plain_part(msg)
    evidence = plain.split("\nEvidence\n", 1)[1].split("\n\n", 1)[0].split("\n")
    check_evidence(
        evidence[0],
        [row.removeprefix("  ") for row in evidence[1:]],
        kind,
        link=lambda url, name: f"{name}: {url}",
    )
    assert 'Evidence</h3><h4 style="margin:8px 0 2px">' in html
    assert ("<td>status: expected 2xx, got 500</td>" in html) == (kind is FIRING)
    resolved = parse_mail_time(facts["Resolved"]) if "Resolved" in facts else None
    return Times(parse_mail_time(facts["Since"]), resolved)


HEADING = r"{region}: {status}( \(\w+\))? at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
RESPONSE_LINK = re.compile(
    r"https://status\.example\.com/api/v1/results/\d+/artifacts/response\.txt"
)


def check_evidence(heading: str, rows: list[str], kind: Kind, *, link: Any) -> None:
    """One region's evidence as a channel shows it: what the run found, its attempts, the
    failing assertion, phase timings (with the usual ones once passing runs exist) and the
    link to the failing response; a resolved message shows the passing run."""
    status = "fail" if kind is FIRING else "pass"
    assert re.fullmatch(HEADING.format(region=REGION, status=status), heading), heading
    if kind is FIRING:
        assert len(rows) == 4, rows
        assert rows[0] == "Attempts (1): #1 fail in " + rows[0].rsplit(" in ", 1)[1]
        assert rows[1] == "Failed: status: expected 2xx, got 500"
        assert re.fullmatch(r"Timings: connect \d+ ms, .*total \d+ ms", rows[2]), rows[2]
        [url] = RESPONSE_LINK.findall(rows[3])
        assert rows[3] == link(url, "response.txt")
    else:
        assert rows[0] == "Result: ok"
        assert re.fullmatch(r"Timings: connect \d+ ms \(usual \d+ ms\), .*", rows[1]), rows[1]
        assert len(rows) == 2


def check_slack(payload: dict[str, Any], kind: Kind, *, for_channel: str | None) -> Times:
    """One Slack message body, field by field; ``for_channel``: sent through an incoming
    webhook, which names the intended channel in the message."""
    headline = f"{kind.emoji} {kind.label}: {RULE} (critical)"
    assert payload["text"] == f"{headline}: {kind.summary}"
    attachment = payload["attachments"][0]
    assert attachment["color"] == kind.colour
    assert attachment["fallback"] == f"{headline}: {kind.summary}"
    header = attachment["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == headline
    summary, evidence, links = slack_texts(payload, "section")
    assert summary == kind.summary
    assert links == f"<{RUNBOOK}|Runbook> · <{STATUS_PAGE}|Status page>"
    heading, *rows = evidence.split("\n")
    check_evidence(heading.strip("*"), rows, kind, link=lambda url, name: f"<{url}|{name}>")
    context = f"smokewatch · alert {short_hash(ALERT_KEY, 12)}"
    if for_channel is not None:
        context += f" · for {for_channel}"
    assert slack_texts(payload, "context") == [context]
    facts = slack_facts(payload)
    expected = ["Severity", "Check", "Regions", "Value", "Condition", "Since"]
    assert list(facts) == expected + (["Resolved"] if kind is RESOLVED else [])
    assert facts["Severity"] == "critical"
    assert facts["Check"] == CHECK
    assert facts["Regions"] == REGION
    assert facts["Value"] == f"{kind.value} (threshold &lt; 0.9)"  # mrkdwn-escaped
    assert facts["Condition"] == "smoke_test.success &lt; 0.9"
    since, fallback = slack_time(facts["Since"])
    assert fallback == since.strftime("%Y-%m-%d %H:%M:%S UTC")
    resolved = slack_time(facts["Resolved"])[0] if "Resolved" in facts else None
    return Times(since, resolved)


def check_times(times: list[Times], *, started: datetime, fixed: datetime, now: datetime) -> None:
    """Every message names the same start, after the service started and before the first
    message; the resolved ones an end after the fault was fixed and before they arrived."""
    assert len({t.since for t in times}) == 1, times
    assert utc_second(started) <= times[0].since <= now
    ends = [t.resolved for t in times if t.resolved is not None]
    assert len(set(ends)) == 1, times
    assert utc_second(fixed) <= ends[0] <= now


async def api(serve: ServeProcess, path: str) -> Any:
    response: httpx.Response = await asyncio.to_thread(serve.get, path)
    assert response.status_code == 200, response.text
    return response.json()


def alerts_now(serve: ServeProcess) -> list[dict[str, Any]]:
    response = serve.get("/api/v1/alerts")
    assert response.status_code == 200, response.text
    alerts: list[dict[str, Any]] = response.json()["alerts"]
    return alerts


class TestAlertOverRealProtocols:
    async def test_fault_alerts_by_email_and_slack_then_resolves(
        self, tmp_path: Path, target: TargetState, start_serve: StartServe
    ) -> None:
        """/health answering 500 fires the rule: one e-mail at aiosmtpd and one chat.postMessage
        at the Slack stand-in, field by field; the fault fixed, one resolved message each, the
        incident opened and closed, and nothing more."""
        target.set_faults(status=500, path_prefix="/health")
        db = f"sqlite:///{tmp_path / 'results.db'}"
        slack_api = HttpServer(default=Reply.json({"ok": True, "channel": "C0ALERTS"}))
        async with smtp_server("none") as smtp:
            with slack_api.running():
                channels = {
                    "email": {
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "from_address": FROM_ADDRESS,
                        "timeout": "5s",
                    },
                    "slack": {
                        "bot_token": BOT_TOKEN,
                        "api_url": f"{slack_api.url}/api",
                        "timeout": "5s",
                    },
                }
                config = write_config(
                    tmp_path, db=db, channels=channels, notify=[EMAIL_TARGET, SLACK_TARGET]
                )
                started = datetime.now(UTC)
                serve = await asyncio.to_thread(start_serve, config)
                mails, posts = smtp.handler.delivered, slack_api.received
                await until(
                    lambda: len(mails) >= 1 and len(posts) >= 1,
                    timeout_s=MESSAGE_TIMEOUT_S,
                    what="the firing e-mail and Slack message",
                    serve=serve,
                )
                fired_at = datetime.now(UTC)

                alerts = await api(serve, "/api/v1/alerts")
                assert [(a["key"], a["state"], a["notified"]) for a in alerts["alerts"]] == [
                    (ALERT_KEY, "firing", "firing")
                ]
                incidents = (await api(serve, "/api/v1/incidents?open=true"))["incidents"]
                assert [(i["check"], i["region"], i["message"]) for i in incidents] == [
                    (CHECK, REGION, FIRING.summary)
                ]

                fixed = datetime.now(UTC)
                target.set_faults()
                await until(
                    lambda: len(mails) >= 2 and len(posts) >= 2,
                    timeout_s=MESSAGE_TIMEOUT_S,
                    what="the resolved e-mail and Slack message",
                    serve=serve,
                )
                resolved_at = datetime.now(UTC)
                await asyncio.sleep(SETTLE_S)
                assert len(mails) == 2
                assert len(posts) == 2

                times = [check_mail(mails[0], FIRING), check_mail(mails[1], RESOLVED)]
                for post in posts:
                    assert post.path == "/api/chat.postMessage"
                    assert post.headers["authorization"] == f"Bearer {BOT_TOKEN}"
                    assert post.json()["channel"] == "#alerts"
                times += [
                    check_slack(posts[0].json(), FIRING, for_channel=None),
                    check_slack(posts[1].json(), RESOLVED, for_channel=None),
                ]
                assert times[0].since <= fired_at
                check_times(times, started=started, fixed=fixed, now=resolved_at)

                await until(
                    lambda: alerts_now(serve) == [],
                    timeout_s=5.0,
                    what="no active alert",
                    serve=serve,
                )
                incidents = (await api(serve, "/api/v1/incidents"))["incidents"]
                assert [(i["check"], i["open"]) for i in incidents] == [(CHECK, False)]
                assert await stop(serve, STOP_TIMEOUT_S) == 0

        rows = await outbox(db)
        assert [(r.payload["kind"], r.target) for r in rows] == [
            ("firing", EMAIL_TARGET),
            ("firing", SLACK_TARGET),
            ("resolved", EMAIL_TARGET),
            ("resolved", SLACK_TARGET),
        ]
        made = await installation(db)
        assert [r.key for r in rows] == [
            expected_key(made, r, k.seq)
            for k in (FIRING, RESOLVED)
            for r in rows
            if r.payload["kind"] == k.name
        ]
        assert [m.message["Message-ID"] for m in mails] == [
            f"<{r.key}@example.com>" for r in rows if r.target == EMAIL_TARGET
        ]
        assert all(r.status == "delivered" and r.attempts == 1 for r in rows), rows
        assert BOT_TOKEN not in serve.text()

    async def test_channels_down_then_back_deliver_each_notification_once(
        self, tmp_path: Path, target: TargetState, start_serve: StartServe
    ) -> None:
        """While the alert fires the SMTP server and the Slack webhook are not listening and the
        Alertmanager webhook answers 503; while it resolves the SMTP server defers (451), Slack
        answers 503 and the webhook is gone.  Each comes back after a few failed attempts and
        receives each notification exactly once; the outbox shows the retries."""
        target.set_faults(status=500, path_prefix="/health")
        db = f"sqlite:///{tmp_path / 'results.db'}"
        mailbox, slack, ops = Mailbox(), Receiver(), Receiver()
        channels = {
            "email": {
                "host": "127.0.0.1",
                "port": mailbox.port,
                "security": "none",
                "from_address": FROM_ADDRESS,
                "timeout": "5s",
            },
            "slack": {"webhook_url": f"{slack.url}{SLACK_HOOK_PATH}", "timeout": "5s"},
            "webhooks": {"ops": {"url": f"{ops.url}/alerts", "timeout": "5s"}},
        }
        notify = [EMAIL_TARGET, SLACK_TARGET, OPS]
        config = write_config(tmp_path, db=db, channels=channels, notify=notify)
        ops.answer(503, retry_after="1")
        ops.up()
        try:
            started = datetime.now(UTC)
            serve = await asyncio.to_thread(start_serve, config)

            def retries(channel: str) -> int:
                return len(events(serve, "alert.delivery_retry", channel=channel))

            def all_retried(floor: dict[str, int]) -> bool:
                return all(retries(c) >= n + OUTAGE_RETRIES for c, n in floor.items())

            none = {"email": 0, "slack": 0, "webhook": 0}
            await until(
                lambda: all_retried(none),
                timeout_s=RETRIES_TIMEOUT_S,
                what="failed attempts at the firing notifications on every channel",
                serve=serve,
            )
            assert mailbox.handler.delivered == []
            assert ops.delivered() == []
            await mailbox.up()
            slack.up()
            ops.answer(200)
            await until(
                lambda: (
                    len(mailbox.handler.delivered) == 1
                    and len(slack.delivered()) == 1
                    and len(ops.delivered()) == 1
                ),
                timeout_s=MESSAGE_TIMEOUT_S,
                what="the firing notifications once the channels are back",
                serve=serve,
            )

            mailbox.defer(True)
            slack.answer(503, retry_after="1")
            ops.down()
            floor = {c: retries(c) for c in none}
            fixed = datetime.now(UTC)
            target.set_faults()
            await until(
                lambda: all_retried(floor),
                timeout_s=RETRIES_TIMEOUT_S,
                what="failed attempts at the resolved notifications on every channel",
                serve=serve,
            )
            assert len(mailbox.handler.delivered) == 1
            assert len(slack.delivered()) == 1
            mailbox.defer(False)
            slack.answer(200)
            ops.up()
            await until(
                lambda: (
                    len(mailbox.handler.delivered) == 2
                    and len(slack.delivered()) == 2
                    and len(ops.delivered()) == 2
                ),
                timeout_s=MESSAGE_TIMEOUT_S,
                what="the resolved notifications once the channels are back",
                serve=serve,
            )
            resolved_at = datetime.now(UTC)
            await asyncio.sleep(SETTLE_S)
            assert await stop(serve, STOP_TIMEOUT_S) == 0
        finally:
            await mailbox.down()
            slack.down()
            ops.down()

        mails = mailbox.handler.delivered
        assert len(mails) == 2
        times = [check_mail(mails[0], FIRING), check_mail(mails[1], RESOLVED)]
        posts = slack.delivered()
        assert len(posts) == 2
        assert slack.refused() >= OUTAGE_RETRIES
        assert {p.path for p in posts} == {SLACK_HOOK_PATH}
        assert all("channel" not in p.json() for p in posts)
        times += [
            check_slack(posts[0].json(), FIRING, for_channel="#alerts"),
            check_slack(posts[1].json(), RESOLVED, for_channel="#alerts"),
        ]
        check_times(times, started=started, fixed=fixed, now=resolved_at)
        hooks = ops.delivered()
        assert len(hooks) == 2
        assert ops.refused() >= OUTAGE_RETRIES
        check_alertmanager(hooks[0], FIRING, times[0])
        check_alertmanager(hooks[1], RESOLVED, times[1])
        # The webhook carries the ledger as data: one entry per region, as stored.
        [fired] = hooks[0].json()["alerts"][0]["evidence"]
        assert (fired["region"], fired["status"], fired["attempt_count"]) == (REGION, "fail", 1)
        assert fired["reason"] == "http_status"
        assert fired["failed"] == {"name": "status", "expected": "2xx", "actual": "500"}
        assert [t["phase"] for t in fired["timings"]][-1] == "total"
        assert [link["name"] for link in fired["links"]] == ["response.txt"]
        [back] = hooks[1].json()["alerts"][0]["evidence"]
        assert (back["status"], back["failed"], back["links"]) == ("pass", None, [])

        rows = await outbox(db)
        assert sorted((r.payload["kind"], r.target) for r in rows) == sorted(
            (k.name, t) for k in (FIRING, RESOLVED) for t in notify
        )
        assert all(r.status == "delivered" for r in rows), rows
        made = await installation(db)
        seqs = {k.name: k.seq for k in (FIRING, RESOLVED)}
        assert all(r.key == expected_key(made, r, seqs[r.payload["kind"]]) for r in rows)
        keys = {(r.payload["kind"], r.target): r.key for r in rows}
        assert [m.message["Message-ID"] for m in mails] == [
            f"<{keys[k.name, EMAIL_TARGET]}@example.com>" for k in (FIRING, RESOLVED)
        ]
        assert [h.headers["idempotency-key"] for h in hooks] == [
            keys[k.name, OPS] for k in (FIRING, RESOLVED)
        ]
        incident = {r.payload["incident"] for r in rows}
        assert len(incident) == 1  # one incident, firing to resolved
        assert {h.json()["alerts"][0]["fingerprint"] for h in hooks} == {
            short_hash(incident.pop(), 16)
        }
        assert all(r.attempts >= 1 + OUTAGE_RETRIES for r in rows), [r.attempts for r in rows]
        delivered = events(serve, "alert.delivered")
        assert sorted((e["kind"], e["channel"]) for e in delivered) == sorted(
            (k.name, c) for k in (FIRING, RESOLVED) for c in ("email", "slack", "webhook")
        )
        assert events(serve, "alert.delivery_failed") == []
        assert SLACK_HOOK_PATH not in serve.text()


def check_alertmanager(hook: Received, kind: Kind, times: Times) -> None:
    """One Alertmanager v4 webhook body and its idempotency key."""
    assert hook.path == "/alerts"
    assert re.fullmatch(r"[0-9a-f]{64}", hook.headers["idempotency-key"])  # the row's key
    body = hook.json()
    assert body["version"] == "4"
    assert body["status"] == kind.name
    assert body["receiver"] == "ops"
    assert body["externalURL"] == STATUS_PAGE
    [alert] = body["alerts"]
    assert alert["labels"] == {
        "alertname": RULE,
        "rule": RULE,
        "severity": "critical",
        "check": CHECK,
        "region": REGION,
    }
    assert alert["annotations"]["summary"] == kind.summary
    assert alert["annotations"]["runbook_url"] == RUNBOOK
    assert (
        alert["annotations"]["description"] == f"{CONDITION}: value {kind.value} (threshold < 0.9)"
    )
    assert re.fullmatch(r"[0-9a-f]{16}", alert["fingerprint"])  # the incident's, checked below
    starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
    assert utc_second(starts) == times.since
    if kind is FIRING:
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    else:
        ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
        assert utc_second(ends) == times.resolved
