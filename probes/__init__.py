"""Probes: each module measures one kind of thing against a target.

``PROBES`` is the registry, checked by a test that every entry satisfies the
``Probe`` protocol.  Adding a kind is one module and one line here; a kind registered
twice is a ``DuplicateKindError`` at import, never a silent replacement.
"""

from collections.abc import Iterable
from typing import Any

from probes import browser, dnsquery, flow, heartbeat, http, tcp, tls, websocket
from probes.base import Probe
from probes.errors import DuplicateKindError


def registry(probes: Iterable[Probe[Any]]) -> dict[str, Probe[Any]]:
    """Key ``probes`` by kind; a kind registered twice is a :class:`DuplicateKindError`."""
    by_kind: dict[str, Probe[Any]] = {}
    for probe in probes:
        if (first := by_kind.get(probe.kind)) is not None:
            raise DuplicateKindError(
                f"probe kind {probe.kind!r} is registered twice: {_origin(first)} "
                f"and {_origin(probe)}"
            )
        by_kind[probe.kind] = probe
    return by_kind


def _origin(probe: Probe[Any]) -> str:
    """Where a probe comes from, by its spec model's module and name."""
    spec = probe.spec_model
    return f"{spec.__module__}.{spec.__qualname__}"


PROBES: dict[str, Probe[Any]] = registry(
    (
        http.PROBE,
        flow.PROBE,
        websocket.PROBE,
        browser.PROBE,
        tcp.PROBE,
        tls.PROBE,
        dnsquery.PROBE,
        heartbeat.PROBE,
    )
)

# Kinds judged from what the target sends in (a job's pings), not from requests the
# monitor makes: the region's own network is never in doubt for them, so a failing
# control check must not turn their verdicts suspect.
INBOUND_KINDS: frozenset[str] = frozenset({heartbeat.PROBE.kind})

__all__ = ["INBOUND_KINDS", "PROBES", "Probe", "registry"]
