"""``/feed.atom``: incidents and maintenance as an Atom feed (linked from the status page)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from monitor.api.auth import may_see_private
from monitor.api.context import ApiContext
from monitor.api.feed import FeedEntry, atom_feed, notice_entry
from monitor.api.notices import read_notices
from monitor.api.routes import READ_ERRORS, errors
from monitor.api.snapshot import take_snapshot
from monitor.api.statuspage import page_id
from monitor.store.outages import outage_spans

ALERT_DAYS = 30
ALERTS_SHOWN = 20
MEDIA_TYPE = "application/atom+xml"


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["page"])

    async def render(private: bool) -> bytes:
        snapshot = await take_snapshot(ctx.service, private=private)
        visible = frozenset(c.check.name for c in snapshot.checks)
        now = snapshot.taken_at
        notices = await read_notices(ctx.service, now=now, visible=visible)
        people = [*notices.incidents, *(n for n in notices.maintenances if n.recurring is None)]
        entries = [notice_entry(n) for n in people]
        store = ctx.service.store
        records = await store.incidents(since=now - timedelta(days=ALERT_DAYS), limit=ALERTS_SHOWN)
        records = [r for r in records if r.check in visible]
        outages = await outage_spans(store, records)
        scrubber = ctx.scrubber()
        for r in records:
            outage = outages.get(r.id)
            began = outage.started_at if outage is not None else r.started_at
            state = "Resolved" if r.resolved_at is not None else "Ongoing"
            text = f"Failing since {began.isoformat()}: {scrubber.text(r.message)}"
            if r.resolved_at is not None:
                text += f"\nResolved {r.resolved_at.isoformat()}."
            entries.append(
                FeedEntry(
                    id=f"alert-{r.id}",
                    kind="incident",
                    title=f"{r.check} failing in {r.region} ({state})",
                    published=r.started_at,
                    updated=r.resolved_at or r.started_at,
                    text=text,
                )
            )
        title = ctx.settings.title
        return atom_feed(
            entries,
            title=title,
            page_id=page_id(title),
            public_url=ctx.settings.public_url,
            now=now,
        )

    @api.get(
        "/feed.atom",
        summary="Incidents and maintenance as an Atom feed",
        response_class=Response,
        responses={
            200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}},
            **errors(*READ_ERRORS),
        },
    )
    async def feed(request: Request) -> Response:
        """Incidents and maintenance people wrote, and alert-made incidents of the last 30 days
        (named after their check), newest change first."""
        private = may_see_private(ctx, request)
        body = await ctx.cached("feed", lambda: render(private), page=True, private=private)
        return Response(content=body, media_type=MEDIA_TYPE)

    return api
