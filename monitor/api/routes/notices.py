"""``/api/v1/status-page/{incidents,maintenances}``: incidents and maintenance written by people.

Writes need ``Authorization: Bearer <api.token>`` (as the other write endpoints); reads
follow the read guard, and a reader without the token does not see notices that name only
``public: false`` checks.  Posting an update moves the notice along its lifecycle; there is
no delete (a mistaken notice is resolved or completed with a word of explanation).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from monitor.api.auth import may_see_private, write_guard
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.notice_models import (
    IncidentPost,
    MaintenancePost,
    NewIncident,
    NewMaintenance,
    NoticeList,
    NoticeOut,
    NoticeUpdateOut,
)
from monitor.api.notices import from_record, shown_to, unknown_component
from monitor.api.routes import errors
from monitor.config.root import SmokewatchConfig
from monitor.store.notices import NoticeKind, NoticeRecord, NoticeStore
from monitor.store.records import record_values

PREFIX = "/api/v1/status-page"
MAX_LISTED = 200
NoticeId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="the notice's id")]
OpenOnly = Annotated[bool, Query(alias="open", description="only those not resolved or completed")]
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED)]


def notice_out(
    record: NoticeRecord, config: SmokewatchConfig, seen: frozenset[str] | None
) -> NoticeOut | None:
    """``record`` as the API shows it to a reader who sees the checks ``seen`` (``None``: all);
    ``None`` if it names only checks hidden from them."""
    notice = from_record(record, config, datetime.now(UTC))
    if seen is not None:
        kept = shown_to([notice], seen)
        if not kept:
            return None
        notice = kept[0]
    return NoticeOut(
        **{
            **record_values(notice, NoticeOut.model_fields),
            "id": record.id,
            "statuspage_id": notice.id,
            "components": list(notice.components),
            "updates": [
                NoticeUpdateOut(status=u.status, body=u.body, created_at=u.created_at)
                for u in notice.updates
            ],
        }
    )


def check_components(components: list[str], config: SmokewatchConfig) -> None:
    """A 422 naming the first of ``components`` that is neither a check nor a group."""
    for index, component in enumerate(components):
        problem = unknown_component(component, config)
        if problem is not None:
            raise ApiError(422, "invalid_parameter", f"body field 'components.{index}': {problem}")


async def create_notice(
    store: NoticeStore,
    config: SmokewatchConfig,
    kind: NoticeKind,
    body: NewIncident | NewMaintenance,
    *,
    status: str,
    started_at: datetime | None = None,
    scheduled_for: datetime | None = None,
    scheduled_until: datetime | None = None,
) -> NoticeRecord:
    """Store a new notice of ``kind`` once its components check out (else a 422)."""
    check_components(body.components, config)
    return await store.create(
        kind,
        name=body.name,
        status=status,
        impact=body.impact,
        components=body.components,
        body=body.body,
        at=datetime.now(UTC),
        started_at=started_at,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
    )


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["status page"])
    writes = [Depends(write_guard(ctx))]

    def notices() -> NoticeStore:
        return NoticeStore(ctx.service.store)

    def visible(request: Request) -> frozenset[str] | None:
        """The checks this reader may see; ``None``: all of them."""
        if may_see_private(ctx, request):
            return None
        return frozenset(c.name for c in ctx.config.checks if c.public)

    def written(record: NoticeRecord) -> NoticeOut:
        ctx.cache.clear()  # the page and the v2 answers show it at once
        shown = notice_out(record, ctx.config, None)
        assert shown is not None  # noqa: S101 -- a token holder sees everything
        return shown

    async def read_one(kind: NoticeKind, number: int, request: Request) -> NoticeOut:
        record = await notices().get(number, kind)
        shown = notice_out(record, ctx.config, visible(request)) if record is not None else None
        if shown is None:
            raise ApiError(404, f"unknown_{kind}", f"no {kind} with id {number}")
        return shown

    async def read_all(
        kind: NoticeKind, request: Request, open_only: bool, limit: int
    ) -> NoticeList:
        seen = visible(request)
        records = await notices().list(kind, open_only=open_only, limit=limit)
        listed = [notice_out(r, ctx.config, seen) for r in records]
        return NoticeList(notices=[n for n in listed if n is not None])

    async def post(
        kind: NoticeKind, number: int, status: str, body: str, impact: str | None
    ) -> NoticeOut:
        record = await notices().get(number, kind)
        if record is None:
            raise ApiError(404, f"unknown_{kind}", f"no {kind} with id {number}")
        updated = await notices().add_update(
            number, status=status, body=body, impact=impact, at=datetime.now(UTC)
        )
        if updated is None:  # gone between the two statements: nothing deletes notices
            raise ApiError(404, f"unknown_{kind}", f"no {kind} with id {number}")
        ctx.log.info(f"api.{kind}_updated", notice=number, status=status)
        return written(updated)

    @api.post(
        f"{PREFIX}/incidents",
        summary="Open an incident on the status page",
        status_code=201,
        response_model=NoticeOut,
        dependencies=writes,
        responses=errors(400, 401, 403, 422, 503),
    )
    async def open_incident(body: NewIncident) -> NoticeOut:
        """Its first update carries ``body``; later ones are posted to ``.../{id}/updates``."""
        started = body.started_at.astimezone(UTC) if body.started_at else None
        record = await create_notice(
            notices(), ctx.config, "incident", body, status=body.status, started_at=started
        )
        ctx.log.info("api.incident_opened", notice=record.id, impact=body.impact)
        return written(record)

    @api.post(
        f"{PREFIX}/incidents/{{id}}/updates",
        summary="Post an update to an incident (resolve it with status resolved)",
        response_model=NoticeOut,
        dependencies=writes,
        responses=errors(400, 401, 403, 404, 422, 503),
    )
    async def update_incident(number: NoticeId, body: IncidentPost) -> NoticeOut:
        """Sets the status (and the impact, if given) and adds a timestamped update."""
        return await post("incident", number, body.status, body.body, body.impact)

    @api.get(
        f"{PREFIX}/incidents",
        summary="Incidents people wrote, newest first",
        response_model=NoticeList,
        responses=errors(401, 403, 422, 503),
    )
    async def list_incidents(
        request: Request, open_only: OpenOnly = False, limit: Limit = 50
    ) -> NoticeList:
        """Alert-made incidents are at ``/api/v1/incidents``."""
        return await read_all("incident", request, open_only, limit)

    @api.get(
        f"{PREFIX}/incidents/{{id}}",
        summary="One incident people wrote",
        response_model=NoticeOut,
        responses=errors(401, 403, 404, 422, 503),
    )
    async def get_incident(request: Request, number: NoticeId) -> NoticeOut:
        """With every update, oldest first."""
        return await read_one("incident", number, request)

    @api.post(
        f"{PREFIX}/maintenances",
        summary="Schedule a maintenance",
        status_code=201,
        response_model=NoticeOut,
        dependencies=writes,
        responses=errors(400, 401, 403, 422, 503),
    )
    async def schedule_maintenance(body: NewMaintenance) -> NoticeOut:
        """Shown as scheduled until ``scheduled_for``, in progress until ``scheduled_until``
        (its checks "under maintenance"), then completed, unless an update says otherwise."""
        record = await create_notice(
            notices(),
            ctx.config,
            "maintenance",
            body,
            status="scheduled",
            scheduled_for=body.scheduled_for.astimezone(UTC),
            scheduled_until=body.scheduled_until.astimezone(UTC),
        )
        ctx.log.info("api.maintenance_scheduled", notice=record.id)
        return written(record)

    @api.post(
        f"{PREFIX}/maintenances/{{id}}/updates",
        summary="Post an update to a maintenance (end it with status completed)",
        response_model=NoticeOut,
        dependencies=writes,
        responses=errors(400, 401, 403, 404, 422, 503),
    )
    async def update_maintenance(number: NoticeId, body: MaintenancePost) -> NoticeOut:
        """Sets the status and adds a timestamped update."""
        return await post("maintenance", number, body.status, body.body, None)

    @api.get(
        f"{PREFIX}/maintenances",
        summary="Maintenance people scheduled, newest first",
        response_model=NoticeList,
        responses=errors(401, 403, 422, 503),
    )
    async def list_maintenances(
        request: Request, open_only: OpenOnly = False, limit: Limit = 50
    ) -> NoticeList:
        """The rules file's recurring windows are at ``/api/v2/scheduled-maintenances.json``."""
        return await read_all("maintenance", request, open_only, limit)

    @api.get(
        f"{PREFIX}/maintenances/{{id}}",
        summary="One maintenance",
        response_model=NoticeOut,
        responses=errors(401, 403, 404, 422, 503),
    )
    async def get_maintenance(request: Request, number: NoticeId) -> NoticeOut:
        """With every update, oldest first."""
        return await read_one("maintenance", number, request)

    return api
