"""Probes: each module measures one kind of thing against a target.

``PROBES`` is the registry, checked by a test that every entry satisfies the
``Probe`` protocol.  Adding a kind is one module and one line here (kind -> module); a
module whose ``PROBE`` names another kind is a ``DuplicateKindError`` when it is
looked up, never a silent replacement of that kind.

``PROBES`` imports a kind's module on first use: ``smokewatch validate`` builds the
models of the kinds a config names only (each module costs 10-90 ms to import).
"""

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from probes.base import Probe
from probes.errors import DuplicateKindError


def _origin(probe: Probe[Any]) -> str:
    """Where a probe comes from, by its spec model's module and name."""
    spec = probe.spec_model
    return f"{spec.__module__}.{spec.__qualname__}"


class LazyRegistry(Mapping[str, Probe[Any]]):
    """Kind -> probe, importing the kind's module (``probes.<module>``) on first lookup.

    A module whose ``PROBE`` has another kind than its key is a
    :class:`DuplicateKindError`: two keys would otherwise run one probe.
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, Probe[Any]] = {}

    def __getitem__(self, kind: str) -> Probe[Any]:
        probe = self._loaded.get(kind)
        if probe is None:
            module = importlib.import_module(f"probes.{self._modules[kind]}")
            probe = module.PROBE
            if probe.kind != kind:
                raise DuplicateKindError(
                    f"probe module probes.{self._modules[kind]} is registered as {kind!r} "
                    f"but its PROBE is {probe.kind!r} ({_origin(probe)})"
                )
            self._loaded[kind] = probe
        return probe

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


PROBES: Mapping[str, Probe[Any]] = LazyRegistry(
    {
        "http": "http",
        "flow": "flow",
        "websocket": "websocket",
        "browser": "browser",
        "tcp": "tcp",
        "tls": "tls",
        "dns": "dnsquery",
        "heartbeat": "heartbeat",
    }
)

# Kinds judged from what the target sends in (a job's pings), not from requests the
# monitor makes: the region's own network is never in doubt for them, so a failing
# control check must not turn their verdicts suspect.
INBOUND_KINDS: frozenset[str] = frozenset({"heartbeat"})

__all__ = ["INBOUND_KINDS", "PROBES", "LazyRegistry", "Probe"]
