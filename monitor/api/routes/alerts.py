"""``/api/v1/alerts`` (alert states) and ``/api/v1/silences`` (list, add, expire).

Reads follow ``api.public_reads``; adding and expiring a silence always need the bearer
token.  Silences declared in alert-rules.yaml are listed too (``source: config``, no
id): they change with the file, not through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from monitor.api.alert_view import (
    AlertList,
    NewSilence,
    Silence,
    SilenceList,
    alert_views,
    config_silence,
    silence_problem,
    stored_silence,
)
from monitor.api.auth import write_guard
from monitor.api.context import ApiContext
from monitor.api.errors import ApiError
from monitor.api.models import ErrorResponse
from monitor.api.routes import NAME_PATTERN, utc
from monitor.api.snapshot import ENDED_ALERT_STATES
from monitor.store import AlertStore, SilenceRecord
from monitor.store.alert_records import FIRING_STATES

_WHY = {
    400: "The body is not JSON",
    401: "The bearer token is missing or wrong",
    403: "No api.token is configured, so this endpoint is disabled",
    404: "No silence with this id",
    409: "The silence has already ended or was expired",
    422: "The request is invalid; the message names the field",
    503: "The result store cannot be reached",
}
SilenceId = Annotated[int, Path(alias="id", ge=1, description="the silence's id")]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse, "description": _WHY[code]} for code in codes}


def _time(value: datetime | None, name: str) -> datetime | None:
    try:
        return utc(value, name)
    except ApiError:
        raise ApiError(422, "invalid_silence", f"body '{name}': not a representable time") from None


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=["alerts"])
    writes = [Depends(write_guard(ctx))]

    def alerts_store() -> AlertStore:
        return AlertStore(ctx.service.store)

    @api.get(
        "/api/v1/alerts",
        summary="Alert states",
        response_model=AlertList,
        responses=_errors(401, 403, 422, 503),
    )
    async def list_alerts(
        state: Annotated[
            Literal["active", "firing", "all"],
            Query(
                description="active: not ended (pending, firing, recovering, inhibited); "
                "all: inactive and resolved too"
            ),
        ] = "active",
        rule: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        check: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    ) -> AlertList:
        """Each alert group (rule x check x region) the engine tracks, by rule, check, region."""
        store = alerts_store()
        # Read every state and filter here: whatever states the engine writes, only
        # inactive and resolved ones count as ended (the status answers agree).
        states = [
            s
            for s in await store.alert_states(active_only=False)
            if (
                state == "all"
                or str(s.state) not in ENDED_ALERT_STATES
                or s.flapping_since is not None  # a flapping group is one open alert
            )
            and (state != "firing" or s.state in FIRING_STATES)  # recovering still fires
            and (rule is None or s.rule == rule)
            and (check is None or s.check == check)
        ]
        now = datetime.now(UTC)
        silences = await store.silences(active_at=now) if states else []
        views = alert_views(states, ctx.loaded.rules, silences, now=now, scrubber=ctx.scrubber())
        return AlertList(alerts=views)

    @api.get(
        "/api/v1/silences",
        summary="Silences",
        response_model=SilenceList,
        responses=_errors(401, 403, 422, 503),
    )
    async def list_silences(
        active: Annotated[bool, Query(description="only silences in force now")] = False,
    ) -> SilenceList:
        """Silences added through the API (newest first), then those of alert-rules.yaml."""
        now = datetime.now(UTC)
        stored = await alerts_store().silences(active_at=now if active else None)
        listed = [stored_silence(s, now) for s in stored]
        listed += [config_silence(s, now) for s in ctx.loaded.rules.silences]
        return SilenceList(silences=[s for s in listed if s.active or not active])

    @api.post(
        "/api/v1/silences",
        summary="Add a silence",
        status_code=201,
        response_model=Silence,
        dependencies=writes,
        responses=_errors(400, 401, 403, 422, 503),
    )
    async def add_silence(body: NewSilence) -> Silence:
        """Hold the notifications of matching alerts from ``starts_at`` (default now) on."""
        now = datetime.now(UTC)
        problem = silence_problem(body, ctx.loaded.rules)
        if problem is not None:
            raise ApiError(422, "invalid_silence", problem)
        starts_at = _time(body.starts_at, "starts_at") or now
        try:
            # silence_problem made sure exactly one of ends_at and duration is given.
            ends_at = _time(body.ends_at, "ends_at") or starts_at + (body.duration or timedelta(0))
        except OverflowError:
            raise ApiError(
                422, "invalid_silence", "body 'duration': ends after year 9999"
            ) from None
        if ends_at <= starts_at:
            raise ApiError(422, "invalid_silence", "body 'ends_at': must be after starts_at")
        if ends_at <= now:
            raise ApiError(422, "invalid_silence", "body 'ends_at': must be in the future")
        silence_id = await alerts_store().add_silence(
            matchers=dict(body.matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            author=body.author,
            comment=body.comment,
            created_at=now,
        )
        ctx.log.info("api.silence_added", silence=silence_id, author=body.author)
        ctx.cache.clear()
        record = SilenceRecord(
            id=silence_id,
            matchers=dict(body.matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            author=body.author,
            comment=body.comment,
            created_at=now,
            expired_at=None,
        )
        return stored_silence(record, now)

    @api.delete(
        "/api/v1/silences/{id}",
        summary="Expire a silence now",
        response_model=Silence,
        dependencies=writes,
        responses=_errors(401, 403, 404, 409, 422, 503),
    )
    async def expire_silence(silence_id: SilenceId) -> Silence:
        """Ends the silence now; matching firing alerts then notify at the next evaluation."""
        store = alerts_store()
        now = datetime.now(UTC)
        record = next((s for s in await store.silences() if s.id == silence_id), None)
        if record is None:
            raise ApiError(404, "unknown_silence", f"no silence with id {silence_id}")
        ended = record.expired_at is not None or record.ends_at <= now
        if ended or not await store.expire_silence(silence_id, at=now):
            raise ApiError(409, "silence_ended", f"silence {silence_id} has already ended")
        ctx.log.info("api.silence_expired", silence=silence_id)
        ctx.cache.clear()
        expired = SilenceRecord(
            id=record.id,
            matchers=record.matchers,
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            author=record.author,
            comment=record.comment,
            created_at=record.created_at,
            expired_at=now,
        )
        return stored_silence(expired, now)

    return api
