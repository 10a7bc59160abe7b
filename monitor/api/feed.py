"""The Atom feed of incidents and maintenance (RFC 4287), built with ``xml.etree``.

One entry per incident or maintenance people wrote (its updates in its content, newest
first) and per alert-made incident (named after its check); rules-file windows recur and
are left out.  Entries are newest first by their last change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from monitor.api.notices import Notice

ATOM = "http://www.w3.org/2005/Atom"
STATUS_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: str
    kind: str  # incident | maintenance
    title: str
    published: datetime
    updated: datetime
    text: str


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def notice_entry(notice: Notice) -> FeedEntry:
    lines = [
        f"{_when(u.created_at)} - {STATUS_WORDS.get(u.status, u.status)}: {u.body}"
        for u in reversed(notice.updates)
    ]
    if notice.scheduled_for is not None and notice.scheduled_until is not None:
        lines.insert(
            0, f"Scheduled {_when(notice.scheduled_for)} to {_when(notice.scheduled_until)}."
        )
    if notice.components:
        lines.append(f"Affects: {', '.join(notice.components)}.")
    return FeedEntry(
        id=notice.id,
        kind=notice.kind,
        title=f"{notice.name} ({STATUS_WORDS.get(notice.status, notice.status)})",
        published=notice.created_at,
        updated=notice.updated_at,
        text="\n".join(lines),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def atom_feed(
    entries: list[FeedEntry], *, title: str, page_id: str, public_url: str | None, now: datetime
) -> bytes:
    """The feed document; ``public_url`` (``api.public_url``) makes absolute links."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        child.text = text
        return child

    ordered = sorted(entries, key=lambda e: e.updated, reverse=True)
    add(feed, "id", f"urn:smokewatch:{page_id}:feed")
    add(feed, "title", f"{title}: incidents and maintenance")
    add(feed, "updated", _iso(ordered[0].updated if ordered else now))
    author = add(feed, "author")
    add(author, "name", title)
    base = (public_url or "").rstrip("/")
    if base:
        add(feed, "link", rel="self", href=f"{base}/feed.atom", type="application/atom+xml")
        add(feed, "link", rel="alternate", href=f"{base}/", type="text/html")
    for item in ordered:
        entry = add(feed, "entry")
        add(entry, "id", f"urn:smokewatch:{page_id}:{item.id}")
        add(entry, "title", item.title)
        add(entry, "published", _iso(item.published))
        add(entry, "updated", _iso(item.updated))
        add(entry, "category", term=item.kind)
        if base:
            add(entry, "link", rel="alternate", href=f"{base}/", type="text/html")
        add(entry, "content", item.text, type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
