"""``/_control/``: switch faults and read counters at run time.  Never probed, never faulted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from examples.demo_target.faults import Faults
from examples.demo_target.state import TargetState, state_of

State = Annotated[TargetState, Depends(state_of)]


def control_router() -> APIRouter:
    router = APIRouter(prefix="/_control")

    @router.get("/faults")
    async def get_faults(state: State) -> JSONResponse:
        return JSONResponse(state.faults.model_dump())

    @router.post("/faults")
    async def set_faults(faults: Faults, state: State) -> JSONResponse:
        """Replace every fault: fields left out go back to healthy."""
        return JSONResponse(state.set_faults(faults).model_dump())

    @router.patch("/faults")
    async def change_faults(
        changes: Annotated[dict[str, Any], Body()], state: State
    ) -> JSONResponse:
        """Change only the fields given."""
        try:
            faults = state.set_faults(state.faults, **changes)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            return JSONResponse({"detail": errors}, status_code=422)
        return JSONResponse(faults.model_dump())

    @router.delete("/faults")
    async def reset_faults(state: State) -> JSONResponse:
        return JSONResponse(state.set_faults().model_dump())

    @router.get("/stats")
    async def stats(state: State) -> JSONResponse:
        return JSONResponse(state.snapshot())

    @router.delete("/stats", status_code=204)
    async def reset_stats(state: State) -> Response:
        """Forget counters, sessions and rate-limit windows; keep the faults."""
        state.reset_stats()
        return Response(status_code=204)

    @router.post("/reset", status_code=204)
    async def reset(state: State) -> Response:
        """A healthy target with no history."""
        state.reset()
        return Response(status_code=204)

    return router
