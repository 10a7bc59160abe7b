"""The demo target app factory: a small web app for smokewatch to watch, with fault injection."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from examples.demo_target.api import api_router
from examples.demo_target.control import control_router
from examples.demo_target.middleware import FaultGate
from examples.demo_target.pages import STATIC_DIR, pages_router
from examples.demo_target.state import TargetState


class DemoTargetApp(FastAPI):
    """FastAPI with the fault gate outside everything, even Starlette's error middleware."""

    def build_middleware_stack(self) -> ASGIApp:
        state = self.state.target
        if not isinstance(state, TargetState):
            raise TypeError(
                "app.state.target is not a TargetState; build the app with create_app()"
            )
        return FaultGate(super().build_middleware_stack(), state)


def create_app(state: TargetState | None = None) -> FastAPI:
    """A fresh demo target app; its :class:`TargetState` is ``app.state.target``."""
    target = state if state is not None else TargetState()
    app = DemoTargetApp(
        title="smokewatch demo target",
        version=target.version,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.target = target
    app.include_router(control_router())
    app.include_router(api_router())
    app.include_router(pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
