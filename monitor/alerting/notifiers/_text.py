"""What every channel says about a notification, worded once: titles, values, facts, links.

Values arrive in the condition's base units (a ratio, seconds); timings are shown in
milliseconds below a second, as people wrote them in the rule (``api_response > 500``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from monitor.alerting.notification import Notification

KIND_LABEL = {
    "firing": "FIRING",
    "reminder": "STILL FIRING",
    "resolved": "RESOLVED",
    "no_data": "NO DATA",
    "flapping": "FLAPPING",
}
# Slack's own palette: red, yellow and blue by severity; green once resolved, grey for no data.
SEVERITY_COLOUR = {"critical": "#E01E5A", "warning": "#ECB22E", "info": "#36C5F0"}
RESOLVED_COLOUR = "#2EB67D"
NO_DATA_COLOUR = "#9E9E9E"

_OPERATOR = re.compile(r"(<=|>=|==|!=|<|>)")
_TIMING = re.compile(r"smoke_test\.(duration|homepage_load|api_response)")
_COUNT = re.compile(r"\bcount\s*\(")


def colour(n: Notification) -> str:
    if n.kind == "resolved":
        return RESOLVED_COLOUR
    if n.kind == "no_data":
        return NO_DATA_COLOUR
    return SEVERITY_COLOUR[n.severity]


def title(n: Notification) -> str:
    """``FIRING: smoke_test_failure (critical)``."""
    return f"{KIND_LABEL[n.kind]}: {n.rule} ({n.severity})"


def subject(n: Notification) -> str:
    """An e-mail subject: ``[FIRING] [critical] <summary>``, one line.

    The rule's name leads it only when the summary does not already say it (the
    default summary starts with it).
    """
    headline = n.summary if n.rule in n.summary else f"{n.rule}: {n.summary}"
    text = f"[{KIND_LABEL[n.kind]}] [{n.severity}] {headline}"
    return " ".join(text.split())[:250]


def _is_timing(n: Notification) -> bool:
    return bool(_TIMING.search(n.condition)) and not _COUNT.search(n.condition)


def format_number(n: Notification, number: float) -> str:
    if _is_timing(n):
        if abs(number) < 1.0:
            return f"{number * 1000:.0f} ms"
        return f"{number:.3g} s"
    return f"{number:.4g}"


def value_text(n: Notification) -> str:
    """``812 ms``, ``0.5``, or ``no data``."""
    return "no data" if n.value is None else format_number(n, n.value)


def threshold_text(n: Notification) -> str:
    """The threshold with the condition's operator: ``> 500 ms``, ``< 0.9``."""
    match = _OPERATOR.search(n.condition)
    operator = f"{match.group(1)} " if match else ""
    return f"{operator}{format_number(n, n.threshold)}"


def value_vs_threshold(n: Notification) -> str:
    """``812 ms (threshold > 500 ms)``."""
    return f"{value_text(n)} (threshold {threshold_text(n)})"


def regions_text(n: Notification) -> str:
    return ", ".join(n.regions) if n.regions else "all"


def utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the store keeps UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Alertmanager and PagerDuty write it."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def human_time(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def facts(n: Notification) -> list[tuple[str, str]]:
    """The label/value pairs every channel shows, in order."""
    rows = [("Severity", n.severity), ("Check", n.check or "all checks")]
    rows += [("Regions", regions_text(n)), ("Value", value_vs_threshold(n))]
    rows += [("Condition", n.condition), ("Since", human_time(n.since))]
    if n.kind == "resolved":
        rows.append(("Resolved", human_time(n.at)))
    if n.dependents:
        rows.append(("Dependent checks (alerts held)", ", ".join(n.dependents)))
    return rows


def facts_and_reason(n: Notification) -> list[tuple[str, str]]:
    """:func:`facts`, then the failure reason while the alert is not resolved."""
    rows = facts(n)
    if n.reason and n.kind != "resolved":
        rows.append(("Reason", n.reason))
    return rows


def plain_lines(n: Notification) -> list[str]:
    """A plain-text message without its title: summary, facts and reason, evidence, links."""
    lines = [n.summary]
    if description := n.annotations.get("description"):
        lines.append(description)
    lines += ["", *(f"{label}: {value}" for label, value in facts_and_reason(n))]
    if evidence := evidence_text(n):
        lines += ["", *evidence]
    if found := links(n):
        lines += ["", *(f"{text}: {url}" for text, url in found)]
    return lines


def links(n: Notification) -> list[tuple[str, str]]:
    """(text, url) of the runbook and the status page, when known."""
    found = [("Runbook", n.runbook_url), ("Status page", n.status_page_url)]
    return [(text, url) for text, url in found if url]


def _ms(value: object) -> str:
    return f"{value:.0f} ms" if isinstance(value, int | float) else "?"


def evidence_heading(entry: dict[str, Any]) -> str:
    """``eu-west-1: fail (timeout) at 2026-12-04 12:00:30 UTC``."""
    reason = f" ({entry['reason']})" if entry.get("reason") else ""
    at = human_time(datetime.fromisoformat(entry["at"])) if entry.get("at") else "?"
    return f"{entry.get('region', '?')}: {entry.get('status', '?')}{reason} at {at}"


def evidence_details(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows of one region's evidence: message, attempts, failing assertion,
    timings against the usual ones, artifacts (names; the links come separately)."""
    failed = entry.get("failed")
    failing = (
        f"{failed['name']}: expected {failed['expected']}, got {failed['actual']}"
        if failed
        else None
    )
    message = str(entry.get("message", ""))
    rows = [] if failing and message.startswith(failing) else [("Result", message)]
    attempts = entry.get("attempts") or []
    if attempts:
        shown = []
        for a in attempts:
            held = (
                f" (smokewatch held up {_ms(a['monitor_lag_ms'])})" if "monitor_lag_ms" in a else ""
            )
            if "then_waited_s" in a:
                then = f", then waited {a['then_waited_s']:g} s"
            elif a.get("then_remeasured"):
                then = ", then measured again"
            else:
                then = ""
            shown.append(
                f"#{a.get('attempt')} {a.get('status')} in {_ms(a.get('probe_ms'))}{held}{then}"
            )
        rows.append((f"Attempts ({entry.get('attempt_count', len(attempts))})", "; ".join(shown)))
    if failing:
        rows.append(("Failed", failing))
    timings = [
        f"{t['phase']} {_ms(t['ms'])}"
        + (f" (usual {_ms(t['usual_ms'])})" if t.get("usual_ms") is not None else "")
        for t in entry.get("timings") or []
    ]
    if timings:
        rows.append(("Timings", ", ".join(timings)))
    return rows


def evidence_links(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, url) of one region's artifacts."""
    return [(str(link["name"]), str(link["url"])) for link in entry.get("links") or []]


def evidence_text(n: Notification) -> list[str]:
    """The ledger as plain-text lines (e-mail, fallbacks): a heading and rows per region."""
    lines: list[str] = []
    for entry in n.evidence:
        lines.append(evidence_heading(entry))
        lines += [f"  {label}: {text}" for label, text in evidence_details(entry)]
        lines += [f"  {name}: {url}" for name, url in evidence_links(entry)]
    return lines


def short_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def log_delivered(log: Any, channel: str, notification: Notification) -> None:
    """The debug line every channel writes after a delivery (no secret in it)."""
    log.debug(
        "alert_notified",
        channel=channel,
        target=notification.target,
        kind=notification.kind,
        rule=notification.rule,
    )
