"""Probes: each module measures one kind of thing against a target.

``PROBES`` is the registry, checked by a test that every entry satisfies the
``Probe`` protocol.  Adding a kind is one module and one line here.
"""

from typing import Any

from probes import browser, dnsquery, flow, heartbeat, http, tcp, tls, websocket
from probes.base import Probe

PROBES: dict[str, Probe[Any]] = {
    probe.kind: probe
    for probe in (
        http.PROBE,
        flow.PROBE,
        websocket.PROBE,
        browser.PROBE,
        tcp.PROBE,
        tls.PROBE,
        dnsquery.PROBE,
        heartbeat.PROBE,
    )
}

# Kinds judged from what the target sends in (a job's pings), not from requests the
# monitor makes: the region's own network is never in doubt for them, so a failing
# control check must not turn their verdicts suspect.
INBOUND_KINDS: frozenset[str] = frozenset({heartbeat.PROBE.kind})

__all__ = ["INBOUND_KINDS", "PROBES", "Probe"]
