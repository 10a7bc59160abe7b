"""The status API and status page: ``create_app(service)`` (see :mod:`monitor.api.app`)."""

from __future__ import annotations

from monitor.api.app import create_app

__all__ = ["create_app"]
