"""A small web app for smokewatch to watch, with faults switched at run time.

>>> async with DemoTarget() as target:          # an asyncio task on this loop
...     target.state.set_faults(status=503, path_prefix="/api/v1/status")
>>> with DemoTargetThread() as target: ...      # its own loop in a daemon thread

or standalone: ``python -m examples.demo_target --port 8081``.  Faults are
documented in :mod:`examples.demo_target.faults`; ``/_control/faults`` and
``/_control/stats`` switch and read them over HTTP.
"""

from examples.demo_target.app import create_app
from examples.demo_target.faults import Faults
from examples.demo_target.server import DemoTarget, DemoTargetThread
from examples.demo_target.state import DEFAULT_EMAIL, DEFAULT_PASSWORD, Stats, TargetState

__all__ = [
    "DEFAULT_EMAIL",
    "DEFAULT_PASSWORD",
    "DemoTarget",
    "DemoTargetThread",
    "Faults",
    "Stats",
    "TargetState",
    "create_app",
]
