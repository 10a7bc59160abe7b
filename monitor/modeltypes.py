"""The model types every config section shares: a leaf that imports nothing of smokewatch's.

The settings modules of ``monitor.config`` (alerting, telemetry, artifacts, regions)
and the domain packages that read them are built from these types.  Kept here, a leaf
outside every package, they import nothing back: one direction, no cycle, no lazy
loading.  ``tests/test_imports.py`` keeps it so.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from probes.durations import Duration, format_duration, parse_duration

__all__ = ["NAME_PATTERN", "Duration", "Strict", "format_duration", "parse_duration"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class Strict(BaseModel):
    """A config model: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
