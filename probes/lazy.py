"""Modules that load on first use, so loading a config never pays for a probe's client.

``smokewatch validate`` imports every probe module for its spec model (the pydantic
model of a kind's fields); the libraries a probe runs with (httpx, dnspython,
websockets...) are only needed once a check runs.  A module bound with
:func:`lazy_import` is a real module object whose code runs on its first attribute
access (:class:`importlib.util.LazyLoader`)::

    if TYPE_CHECKING:
        import httpx
    else:
        httpx = lazy_import("httpx")

Type checkers see the plain import; at run time ``httpx.AsyncClient`` loads httpx
the first time it is read.  A name read at module level (a dict of exception types)
loads it at once, so keep such tables in functions.  Parent packages of a dotted
name load at once (they are small for the libraries used here).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()
# Names bound only with ``preload=False``: :func:`load_pending` leaves them to their first
# use.  Process-wide, as ``sys.modules`` is: a binding with ``preload`` takes a name out.
_ON_DEMAND: set[str] = set()


def lazy_import(name: str, *, preload: bool = True) -> ModuleType:
    """``name`` as a module that executes on first attribute access (or the loaded one).

    ``preload=False`` is for a library that loading a config already runs whenever a check
    needs it (a validator that compiles every JSON path): :func:`load_pending` then skips
    it, so a config that never uses it never pays for it.  Bound by several modules, a
    name is preloaded if any of them asks.
    """
    with _LOCK:
        if preload:
            _ON_DEMAND.discard(name)
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
        if not preload:
            _ON_DEMAND.add(name)
        parent, _, child = name.rpartition(".")
        parent_module = importlib.import_module(parent) if parent else None
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        if parent_module is not None:
            setattr(parent_module, child, module)
        return module


def load_pending() -> None:
    """Run every module bound lazily whose code has not run yet, but those bound with
    ``preload=False`` (loading the config ran them if a check needs them).

    The service calls this as it starts, before any check: a library that loads during
    a check would count its import time in that check's timings (and could push a
    first run past its budget).
    """
    for name, module in list(sys.modules.items()):
        if type(module).__name__ == "_LazyModule" and name not in _ON_DEMAND:
            _ = module.__dict__  # any attribute read runs the module
