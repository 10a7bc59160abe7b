"""Failure reasons in words, for people reading the status pages.

The code (``http_status``) stays: alerts, metrics and the API speak it.  The pages add
what it means, and say plainly when a failure has no reason stored (results written
before reasons were recorded, or replayed from an older spool).
"""

from __future__ import annotations

from typing import Final

from probes.reasons import FailureReason

R = FailureReason
REASON_TEXT: Final[dict[FailureReason, str]] = {
    R.DNS: "the name did not resolve",
    R.CONNECT: "no connection",
    R.TLS: "TLS handshake or certificate failed",
    R.TIMEOUT: "no answer in time",
    R.HTTP_STATUS: "unexpected HTTP status",
    R.ASSERTION: "an expectation failed",
    R.SCHEMA: "body not valid against its schema",
    R.CONTENT: "unexpected content",
    R.LATENCY: "slower than the fail budget",
    R.CONSOLE_ERROR: "console errors on the page",
    R.PAGE_ERROR: "uncaught exceptions on the page",
    R.FAILED_REQUEST: "the page's own requests failed",
    R.MISSING_ELEMENT: "a required element never showed",
    R.BLOCKED_WRITE: "the page tried a write that is not allowed",
    R.HANDSHAKE: "WebSocket handshake refused",
    R.BROWSER_CRASH: "the browser crashed",
    R.LATE: "the job did not report in time",
    R.JOB_FAILED: "the job reported a failure",
    R.BUDGET: "request budget spent",
    R.RESOURCES: "smokewatch ran out of open files or memory",
    R.BROWSER_UNAVAILABLE: "no browser",
    R.STORE: "result store unreadable",
    R.CONFIG: "cannot run as configured",
    R.INTERNAL: "a bug in smokewatch",
}
NO_REASON = "no reason stored with this result (see its message below)"


def reason_text(reason: FailureReason | None) -> str:
    """``http_status (unexpected HTTP status)``, or a sentence when there is no reason."""
    if reason is None:
        return NO_REASON
    return f"{reason.value} ({REASON_TEXT[reason]})"
