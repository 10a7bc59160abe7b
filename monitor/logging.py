"""structlog, set up per Runtime (no global configuration).

JSON lines when the stream is not a TTY (containers, CI), coloured console output
otherwise.  Every event passes through the redactor before it is rendered, and
tracebacks are rendered without local variables (they may hold secrets).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from monitor.redact import Redactor

LevelName = Literal["debug", "info", "warning", "error"]


def make_logger(
    redactor: Redactor,
    *,
    level: LevelName = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
) -> Any:
    """A bound logger writing to ``stream`` (stderr by default), secrets masked."""
    out = stream if stream is not None else sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())

    def redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        masked: EventDict = redactor.data(event)  # a new dict: the event is not changed
        return masked

    processors: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if as_json:
        processors += [
            structlog.processors.dict_tracebacks,  # show_locals is off by default
            redact,
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors += [
            structlog.processors.format_exc_info,
            redact,
            structlog.dev.ConsoleRenderer(
                colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    return structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        cache_logger_on_first_use=False,
    )
