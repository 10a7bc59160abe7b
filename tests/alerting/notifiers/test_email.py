"""E-mail: messages built field by field, and delivered to a real aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers.email import EmailNotifier, build_message
from monitor.config.channel_settings import EmailSettings
from tests.alerting.notifiers.conftest import Certs
from tests.alerting.notifiers.samples import AT, RUNBOOK, STATUS_PAGE, sample
from tests.alerting.notifiers.servers import (
    Security,
    free_port,
    silent_server,
    smtp_server,
)

FROM = "smokewatch <alerts@smokewatch.example.com>"
PASSWORD = "s3cret-smtp-password"
TO = "oncall@example.com"


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The plain and the HTML body of a multipart/alternative message."""
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None
    assert html is not None
    # SMTP carries CRLF line ends; compare text as written.
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


class TestMessage:
    """The message itself: headers and both parts."""

    def test_headers_identify_the_alert(self) -> None:
        """From, To, Subject (kind, severity, rule), Date, Message-ID and References are set."""
        n = sample(target=TO)
        msg = build_message(n, from_address=FROM)
        assert msg["From"] == FROM
        assert msg["To"] == TO
        assert msg["Subject"] == (
            "[FIRING] [critical] smoke_test_failure: api-test succeeds 50% of the time in eu-west-1"
        )
        assert parsedate_to_datetime(msg["Date"]) == AT
        assert msg["Message-ID"] == f"<{n.key}@smokewatch.example.com>"
        assert msg["References"].startswith("<alert.")
        assert msg["X-Smokewatch-Rule"] == "smoke_test_failure"
        assert msg["X-Smokewatch-Severity"] == "critical"
        assert msg["X-Smokewatch-Kind"] == "firing"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg.get_content_type() == "multipart/alternative"

    def test_message_id_is_stable_per_key_and_references_per_alert(self) -> None:
        """A redelivery has the same Message-ID; the resolved mail threads with the firing one."""
        firing = build_message(sample(target=TO), from_address=FROM)
        again = build_message(sample(target=TO), from_address=FROM)
        resolved = build_message(sample(target=TO, kind="resolved", key="k2"), from_address=FROM)
        assert firing["Message-ID"] == again["Message-ID"]
        assert resolved["Message-ID"] == "<k2@smokewatch.example.com>"
        assert resolved["References"] == firing["References"]

    def test_plain_part_lists_the_facts_and_links(self) -> None:
        """The text part has the title, summary, every fact and both links."""
        plain, _ = parts(build_message(sample(target=TO), from_address=FROM))
        lines = plain.splitlines()
        assert lines[0] == "FIRING: smoke_test_failure (critical)"
        assert lines[2] == "api-test succeeds 50% of the time in eu-west-1"
        for expected in (
            "Severity:  critical",
            "Check:     api-test",
            "Regions:   eu-west-1",
            "Value:     0.5 (threshold < 0.9)",
            "Condition: smoke_test.success < 0.9",
            "Since:     2026-03-04 05:06:07 UTC",
            f"Runbook: {RUNBOOK}",
            f"Status page: {STATUS_PAGE}",
        ):
            assert expected in lines

    def test_html_part_escapes_and_links(self) -> None:
        """The HTML part escapes user text and links the runbook and status page."""
        n = sample(target=TO, summary="<b>broken</b> & more")
        _, html = parts(build_message(n, from_address=FROM))
        assert "&lt;b&gt;broken&lt;/b&gt; &amp; more" in html
        assert "<b>broken</b>" not in html
        assert f'<a href="{RUNBOOK}">Runbook</a>' in html
        assert f'<a href="{STATUS_PAGE}">Status page</a>' in html
        assert "<td>0.5 (threshold &lt; 0.9)</td>" in html
        assert "border-left:6px solid #E01E5A" in html

    @pytest.mark.parametrize(
        ("kind", "subject_start", "extra_fact"),
        [
            ("resolved", "[RESOLVED] [critical]", "Resolved:  2026-03-04 05:11:07 UTC"),
            ("reminder", "[STILL FIRING] [critical]", None),
            ("no_data", "[NO DATA] [critical]", None),
        ],
        ids=["resolved", "reminder", "no-data"],
    )
    def test_kind_shows_in_subject(
        self, kind: Any, subject_start: str, extra_fact: str | None
    ) -> None:
        """Resolved, reminder and no-data messages say so first."""
        msg = build_message(sample(target=TO, kind=kind), from_address=FROM)
        assert msg["Subject"].startswith(subject_start)
        if extra_fact:
            assert extra_fact in parts(msg)[0].splitlines()

    def test_the_subject_names_the_rule_once(self) -> None:
        """The default summary starts with the rule's name: the subject does not repeat it."""
        summary = "smoke_test_failure: api-test in eu-west-1: smoke_test.success < 0.9 (now 0.50)"
        msg = build_message(sample(target=TO, summary=summary), from_address=FROM)
        assert msg["Subject"] == f"[FIRING] [critical] {summary}"
        assert msg["Subject"].count("smoke_test_failure") == 1


def settings(
    port: int, security: Security, certs: Certs | None = None, **more: Any
) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        from_address=FROM,
        ca_file=str(certs.ca_file) if certs else None,
        timeout="3s",
        **more,
    )


async def deliver(s: EmailSettings, log: Any, n: Notification | None = None) -> None:
    notifier = EmailNotifier(s, log=log)
    try:
        await notifier.send(n or sample(target=TO))
    finally:
        await notifier.close()


class TestDelivery:
    """Real SMTP sessions against aiosmtpd."""

    @pytest.mark.parametrize(
        ("security", "mechanism"),
        [
            ("none", None),
            ("starttls", None),
            ("tls", None),
            ("starttls", "LOGIN"),
            ("starttls", "PLAIN"),
            ("tls", "PLAIN"),
            ("tls", "LOGIN"),
        ],
        ids=["plain", "starttls", "implicit-tls", "starttls-login", "starttls-plain",
             "tls-plain", "tls-login"],
    )  # fmt: skip
    async def test_message_arrives_intact(
        self, certs: Certs, log: Any, security: Security, mechanism: str | None
    ) -> None:
        """The server receives the envelope and the message, over TLS when asked, authenticated."""
        users = {"alerts": PASSWORD}
        async with smtp_server(
            security, server_tls=certs.server, mechanism=mechanism, users=users
        ) as srv:
            auth = {"username": "alerts", "password": PASSWORD} if mechanism else {}
            await deliver(settings(srv.port, security, certs, **auth), log)
        (got,) = srv.handler.delivered
        assert got.mail_from == "alerts@smokewatch.example.com"
        assert got.rcpt_tos == [TO]
        assert got.tls is (security != "none")
        assert (got.login, got.mechanism) == (("alerts", mechanism) if mechanism else (None, None))
        msg = got.message
        expected = build_message(sample(target=TO), from_address=FROM)
        for header in ("From", "To", "Subject", "Message-ID", "Date", "References"):
            assert msg[header] == expected[header]
        plain, html = parts(msg)
        assert (plain, html) == parts(expected)
        assert "Value:     0.5 (threshold < 0.9)" in plain.splitlines()
        assert f'<a href="{RUNBOOK}">Runbook</a>' in html
        assert PASSWORD.encode() not in got.content

    async def test_non_ascii_text_survives_the_trip(self, log: Any) -> None:
        """Accents and arrows in the summary and the sender's name arrive intact."""
        n = sample(target=TO, summary="Zürich → down")
        async with smtp_server("none") as srv:
            s = settings(srv.port, "none").model_copy(
                update={"from_address": "Smökewatch <a@b.example>"}
            )
            await deliver(s, log, n)
        msg = srv.handler.delivered[0].message
        assert msg["From"] == "Smökewatch <a@b.example>"
        assert msg["Subject"] == "[FIRING] [critical] smoke_test_failure: Zürich → down"
        plain, html = parts(msg)
        assert "Zürich → down" in plain.splitlines()
        assert "<p>Zürich → down</p>" in html

    async def test_unbuildable_message_is_not_retryable(self, log: Any) -> None:
        """An address with a line break cannot become a header: a permanent error, nothing sent."""
        async with smtp_server("none") as srv:
            with pytest.raises(DeliveryError) as caught:
                await deliver(
                    settings(srv.port, "none"), log, sample(target="a@b.example\nBcc: x@y.example")
                )
        assert caught.value.retryable is False
        assert caught.value.message.startswith("smtp: cannot build the message")
        assert srv.handler.delivered == []

    async def test_server_down_is_retryable(self, log: Any) -> None:
        """Nothing listening: a connection error, retryable."""
        with pytest.raises(DeliveryError) as caught:
            await deliver(settings(free_port(), "none"), log)
        assert caught.value.retryable is True
        assert caught.value.message.startswith("smtp: connection failed")

    async def test_silent_server_times_out_retryable(self, log: Any) -> None:
        """A server that accepts and never greets is cut off by the timeout, retryable."""
        async with silent_server() as port:
            s = settings(port, "none").model_copy(update={"timeout": timedelta(milliseconds=300)})
            with pytest.raises(DeliveryError) as caught:
                await deliver(s, log)
        assert caught.value.retryable is True
        assert caught.value.message == "smtp: timed out"

    async def test_wrong_password_is_not_retryable_and_not_echoed(
        self, certs: Certs, log: Any
    ) -> None:
        """535 on AUTH: not retryable, and the password never appears in the error."""
        async with smtp_server(
            "tls", server_tls=certs.server, mechanism="PLAIN", users={"alerts": "other"}
        ) as srv:
            with pytest.raises(DeliveryError) as caught:
                await deliver(
                    settings(srv.port, "tls", certs, username="alerts", password=PASSWORD), log
                )
        assert caught.value.retryable is False
        assert "535" in caught.value.message
        assert PASSWORD not in caught.value.message
        assert srv.handler.delivered == []

    @pytest.mark.parametrize(
        ("reply", "retryable"),
        [("550 5.1.1 no such user", False), ("451 4.3.0 try again later", True)],
        ids=["550-permanent", "451-transient"],
    )
    async def test_refused_recipient(self, log: Any, reply: str, retryable: bool) -> None:
        """A 5xx recipient refusal is permanent, a 4xx one transient."""
        async with smtp_server("none") as srv:
            srv.handler.refuse_rcpt = reply
            with pytest.raises(DeliveryError) as caught:
                await deliver(settings(srv.port, "none"), log)
        assert caught.value.retryable is retryable
        assert reply in caught.value.message

    async def test_starttls_is_required_not_opportunistic(self, certs: Certs, log: Any) -> None:
        """A server without STARTTLS gets nothing in clear text: a permanent error."""
        async with smtp_server("starttls", offer_starttls=False) as srv:
            with pytest.raises(DeliveryError) as caught:
                await deliver(settings(srv.port, "starttls", certs), log)
        assert caught.value.retryable is False
        assert "STARTTLS" in caught.value.message
        assert srv.handler.delivered == []

    @pytest.mark.parametrize("security", ["starttls", "tls"], ids=["starttls", "implicit-tls"])
    async def test_untrusted_certificate_is_refused(
        self, certs: Certs, log: Any, security: Security
    ) -> None:
        """Without the private CA the server's certificate is not trusted: nothing is sent."""
        async with smtp_server(security, server_tls=certs.server) as srv:
            with pytest.raises(DeliveryError) as caught:
                await deliver(settings(srv.port, security), log)
        assert caught.value.retryable is False
        assert "certificate" in caught.value.message
        assert srv.handler.delivered == []


class TestLoading:
    def test_the_smtp_client_loads_when_the_channel_is_built_not_at_the_first_mail(self) -> None:
        """In a fresh interpreter, aiosmtplib is absent until an e-mail notifier is built, and
        loaded once it is: never imported on the event loop while checks run."""
        script = textwrap.dedent(
            """
            import sys
            from monitor.alerting.notifiers.email import EmailNotifier
            from monitor.config.channel_settings import EmailSettings
            before = "aiosmtplib" in sys.modules
            settings = EmailSettings(
                host="127.0.0.1", port=25, security="none", from_address="a@example.com"
            )
            EmailNotifier(settings, log=None)
            print(before, "aiosmtplib" in sys.modules)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert done.stdout.split() == ["False", "True"]
