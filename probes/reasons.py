"""Why a check failed, as data: one :class:`FailureReason` on every ``fail`` and ``error``.

The set is closed and documented (README, "Failure reasons"): alerts, the
``smoke_test_failures_total`` counter and the status page all speak it.  A probe
picks the reason where it knows the fault (the socket error, the assertion that
failed); the runner adds the ones only it can see (``budget``, ``internal``).  A
socket error that is the monitor's own exhaustion (``resources``: no file descriptor,
socket buffer or memory left) is no news about the target: the runner makes that
``fail`` an ``error``.
"""

from __future__ import annotations

import enum
import errno
import re
from typing import TYPE_CHECKING, Final

from probes.lazy import lazy_import

if TYPE_CHECKING:
    import socket
    import ssl
else:  # only an error of a socket or TLS call ever needs them: loading a config does not
    socket = lazy_import("socket")
    ssl = lazy_import("ssl")


class FailureReason(enum.StrEnum):
    """The one reason a result is ``fail`` or ``error``."""

    DNS = "dns"  # the target's name did not resolve
    CONNECT = "connect"  # no connection: refused, reset, unreachable, closed mid-answer
    TLS = "tls"  # the TLS handshake failed or the certificate is not trusted
    TIMEOUT = "timeout"  # no answer within the check's timeout (or a step's)
    HTTP_STATUS = "http_status"  # the target answered with an unexpected HTTP status
    ASSERTION = "assertion"  # a header, URL, TLS-lifetime or capture expectation failed
    SCHEMA = "schema"  # the body is not JSON, or not valid against the JSON schema
    CONTENT = "content"  # the body, a JSON value, a text or a reply is not what was expected
    LATENCY = "latency"  # it answered, but slower than the ``fail`` budget
    CONSOLE_ERROR = "console_error"  # the page logged more console errors than allowed
    PAGE_ERROR = "page_error"  # the page threw more uncaught exceptions than allowed
    FAILED_REQUEST = "failed_request"  # more of the page's own requests failed than allowed
    MISSING_ELEMENT = "missing_element"  # a selector never became visible (or actionable)
    BLOCKED_WRITE = "blocked_write"  # the page sent a write that no ``allow_write`` allows
    HANDSHAKE = "handshake"  # the WebSocket upgrade was refused or garbled
    BROWSER_CRASH = "browser_crash"  # the browser or the page's renderer died mid-check
    LATE = "late"  # a heartbeat's job did not ping success in time (or a run never ended)
    JOB_FAILED = "job_failed"  # a heartbeat's job said it failed (its /fail signal)
    BUDGET = "budget"  # error: the monitor's request budget for the host is spent
    # error: smokewatch itself ran out of open files, socket buffers or memory
    RESOURCES = "resources"
    BROWSER_UNAVAILABLE = "browser_unavailable"  # error: no browser could be started
    STORE = "store"  # error: the result store could not be read (a heartbeat's pings)
    CONFIG = "config"  # error: the check cannot run as configured (invalid URL, unknown kind)
    INTERNAL = "internal"  # error: a bug in smokewatch (an exception escaped the probe)


# Chromium's net:: error names (as Playwright quotes them) that say more than "connect".
_CHROMIUM: Final[tuple[tuple[re.Pattern[str], FailureReason], ...]] = (
    (re.compile(r"ERR_NAME_NOT_RESOLVED|ERR_NAME_RESOLUTION_FAILED"), FailureReason.DNS),
    (re.compile(r"ERR_CERT_|ERR_SSL_|ERR_BAD_SSL"), FailureReason.TLS),
    (re.compile(r"ERR_TIMED_OUT|ERR_CONNECTION_TIMED_OUT"), FailureReason.TIMEOUT),
    (re.compile(r"ERR_BLOCKED_BY_CLIENT"), FailureReason.BLOCKED_WRITE),
    (re.compile(r"ERR_INVALID_URL|ERR_UNKNOWN_URL_SCHEME"), FailureReason.CONFIG),
)


def from_chromium(message: str) -> FailureReason:
    """The reason of a navigation that failed with a Chromium ``net::ERR_*`` message."""
    return next((r for p, r in _CHROMIUM if p.search(message)), FailureReason.CONNECT)


# errno values of a socket call that failed for want of the monitor's own resources.
_OWN_LIMITS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def from_os_error(exc: BaseException) -> FailureReason | None:
    """The reason of a socket or TLS error found in ``exc``'s cause chain, if any."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return FailureReason.DNS
        if isinstance(cause, ssl.SSLError):
            return FailureReason.TLS
        if isinstance(cause, TimeoutError):
            return FailureReason.TIMEOUT
        if isinstance(cause, OSError):
            # The monitor's own exhaustion says nothing about the target.
            return FailureReason.RESOURCES if cause.errno in _OWN_LIMITS else FailureReason.CONNECT
        cause = cause.__cause__ or cause.__context__
    return None
