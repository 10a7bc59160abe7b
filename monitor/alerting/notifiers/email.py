"""E-mail over SMTP (aiosmtplib): a plain-text part and an HTML part, one message per target.

``Message-ID`` is derived from the notification key, so a redelivery after a crash
carries the same id and mail systems that deduplicate on it show one message; every
message of one alert also shares a ``References`` id, so clients thread firing,
reminders and resolved together.

Security: ``starttls`` requires the upgrade (never opportunistic: a server that does
not offer STARTTLS is an error, not a reason to send in clear), ``tls`` is TLS from the
first byte, ``none`` is plain text (settings refuse AUTH over it).  Failures: connection
errors, timeouts and SMTP 4xx replies are retryable; 5xx replies (a refused recipient,
bad credentials) and a missing STARTTLS/AUTH extension are not.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import re
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import _text
from monitor.config.channel_settings import EmailSettings
from monitor.redact import Redactor

_MSGID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _domain(from_address: str) -> str:
    return parseaddr(from_address)[1].rpartition("@")[2] or "smokewatch.invalid"


def message_id(key: str, domain: str) -> str:
    local = key if _MSGID_SAFE.match(key) else _text.short_hash(key, 64)
    return f"<{local}@{domain}>"


def plain_body(n: Notification) -> str:
    lines = [_text.title(n), "", n.summary]
    if description := n.annotations.get("description"):
        lines.append(description)
    lines.append("")
    width = max(len(label) for label, _ in _text.facts(n))
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in _text.facts(n)]
    if evidence := _text.evidence_text(n):
        lines += ["", "Evidence", *evidence]
    if links := _text.links(n):
        lines.append("")
        lines += [f"{label}: {url}" for label, url in links]
    lines += ["", f"-- smokewatch (alert {_text.short_hash(n.alert_key, 12)})"]
    return "\n".join(lines) + "\n"


def _table(rows: Iterable[tuple[str, str]]) -> str:
    """Label/value rows as an HTML table (values escaped)."""
    e = html.escape
    cells = "".join(
        f'<tr><th align="left" valign="top" style="padding:2px 12px 2px 0">{e(label)}</th>'
        f"<td>{e(value)}</td></tr>"
        for label, value in rows
    )
    return f"<table>{cells}</table>"


def _links(pairs: Iterable[tuple[str, str]]) -> str:
    """(text, url) pairs as one paragraph of links; ``""`` for none."""
    e = html.escape
    links = " &middot; ".join(
        f'<a href="{e(url, quote=True)}">{e(text)}</a>' for text, url in pairs
    )
    return f"<p>{links}</p>" if links else ""


def html_body(n: Notification) -> str:
    e = html.escape
    description = n.annotations.get("description")
    evidence = "".join(_html_evidence(entry) for entry in n.evidence)
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f'<div style="border-left:6px solid {_text.colour(n)};padding:4px 12px">'
        f'<h2 style="margin:4px 0">{e(_text.title(n))}</h2>'
        f"<p>{e(n.summary)}</p>"
        + (f"<p>{e(description)}</p>" if description else "")
        + _table(_text.facts(n))
        + (f'<h3 style="margin:12px 0 4px">Evidence</h3>{evidence}' if evidence else "")
        + _links(_text.links(n))
        + f'<p style="color:#888">smokewatch (alert {_text.short_hash(n.alert_key, 12)})</p>'
        "</div></body></html>\n"
    )


def _html_evidence(entry: dict[str, Any]) -> str:
    """One region's evidence: a heading, a table of rows, and its artifact links."""
    heading = html.escape(_text.evidence_heading(entry))
    return (
        f'<h4 style="margin:8px 0 2px">{heading}</h4>'
        + _table(_text.evidence_details(entry))
        + _links(_text.evidence_links(entry))
    )


def build_message(n: Notification, *, from_address: str) -> EmailMessage:
    domain = _domain(from_address)
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = n.address
    msg["Subject"] = _text.subject(n)
    msg["Date"] = format_datetime(_text.utc(n.at))
    msg["Message-ID"] = message_id(n.key, domain)
    msg["References"] = f"<alert.{_text.short_hash(n.alert_key, 32)}@{domain}>"
    msg["X-Smokewatch-Rule"] = n.rule
    msg["X-Smokewatch-Severity"] = n.severity
    msg["X-Smokewatch-Kind"] = n.kind
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg.set_content(plain_body(n))
    msg.add_alternative(html_body(n), subtype="html")
    return msg


def _smtp_error(exc: Exception, redactor: Redactor) -> DeliveryError:
    """An SMTP failure as a delivery error: 4xx and transport trouble retry, 5xx do not."""
    import aiosmtplib  # noqa: PLC0415 -- loaded by send() already

    what = "smtp"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        retry = any(400 <= c < 500 for c in codes)
        return DeliveryError(redactor.text(f"{what}: recipient refused: {text}"), retryable=retry)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        retry = 400 <= exc.code < 500
        message = f"{what}: {type(exc).__name__} {exc.code} {exc.message}"
        return DeliveryError(redactor.text(message), retryable=retry)
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"{what}: timed out", retryable=True)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = f"{what}: server certificate not trusted ({cause.verify_message})"
            return DeliveryError(redactor.text(message), retryable=False)
        cause = cause.__cause__
    transient = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError)
    if isinstance(exc, transient) or not isinstance(exc, aiosmtplib.SMTPException):
        return DeliveryError(f"{what}: connection failed ({type(exc).__name__})", retryable=True)
    # What is left is the client refusing to go on: no STARTTLS, no AUTH offered ...
    return DeliveryError(redactor.text(f"{what}: {exc.message}"), retryable=False)


class EmailNotifier:
    """Sends one message per notification over a fresh SMTP connection."""

    channel = "email"

    def __init__(self, settings: EmailSettings, *, log: Any) -> None:
        self._settings = settings
        self._password = settings.password.get_secret_value() if settings.password else None
        self._timeout_s = settings.timeout.total_seconds()
        self._redactor = Redactor([self._password] if self._password else [])
        self._tls: ssl.SSLContext | None = None
        if settings.security != "none":
            # Built once (reading the CA file fails fast at startup, not at the first alert).
            self._tls = ssl.create_default_context(cafile=settings.ca_file)
        self._log = log
        # Loaded with the channel, at start-up: an import at the first mail would hold the
        # event loop (~30 ms) while checks may be inside their timings.  A run without an
        # e-mail channel never loads it.
        importlib.import_module("aiosmtplib")

    async def send(self, notification: Notification) -> None:
        import aiosmtplib  # noqa: PLC0415 -- loaded when this notifier was built

        s = self._settings
        try:
            msg = build_message(notification, from_address=s.from_address)
        except ValueError as exc:  # e.g. a line break in an address: no retry can fix it
            message = f"smtp: cannot build the message ({exc})"
            raise DeliveryError(self._redactor.text(message), retryable=False) from exc
        try:
            async with asyncio.timeout(self._timeout_s):
                await aiosmtplib.send(
                    msg,
                    hostname=s.host,
                    port=s.effective_port,
                    username=s.username,
                    password=self._password,
                    use_tls=s.security == "tls",
                    start_tls=s.security == "starttls",
                    tls_context=self._tls,
                    timeout=self._timeout_s,
                )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise _smtp_error(exc, self._redactor) from exc
        _text.log_delivered(self._log, self.channel, notification)

    async def close(self) -> None:
        return None
