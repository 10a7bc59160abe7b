"""The probes' own exceptions, one small hierarchy under :class:`ProbeError`.

    ProbeError                     base of every error a probe module raises on purpose
    ├── DuplicateKindError         (probes) two probes registered under one kind
    ├── GateClosed                 (probes.base) a host's request budget cannot admit a request
    ├── LedgerUnavailable          (probes.heartbeat) the heartbeat pings cannot be read
    ├── BrowserError               (probes.browser_pool) the shared browser failed
    │   ├── BrowserUnavailableError    no browser could be found or started
    │   └── BrowserCrashedError        the browser died while a check was using it
    └── HttpProbeError             (probes.http) :func:`probes.http.send` could not get an answer
        ├── RequestFailedError         no usable response (connect, TLS, protocol)
        │   └── RequestTimeoutError    no complete response in time
        └── InvalidRequestError        the request cannot be built as configured

``probes/`` never imports ``monitor/``, so this root stands beside smokewatch's
``SmokewatchError`` (``monitor.errors`` draws both).  None of these reaches a user
as an exception: a probe turns them into a result, and the runner turns anything
that escapes a probe into an ``error`` result.
"""

from __future__ import annotations


class ProbeError(Exception):
    """Base of every error a probe module raises on purpose."""


class DuplicateKindError(ProbeError):
    """Two probes were registered under one kind: the second would silently replace the first."""
