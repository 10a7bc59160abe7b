"""Start-up without the cyclic garbage collector, then what start-up built frozen.

Start-up (importing a command's stack, loading and validating the config) builds about
150,000 objects that live as long as the process: modules, classes, pydantic's and
SQLAlchemy's schemas.  The cyclic collector, left running, walks them again at every
collection of its older generations while they are being built: nearly a third of the CPU of a
``run --once`` of one check (``bench/startup.py``: 1,052 ms with it, 728 without).  So
the ``smokewatch`` command pauses the collector first thing (:func:`pause`), and a
command resumes it (:func:`resume`) as its work starts: what start-up built is then
frozen (later collections skip it; reference counting still frees it) and the collector
runs as usual.  Garbage in reference cycles made while paused stays: start-up's is small
(about 1,400 objects in ``run --once``, of one check or of 1,000; a config is at most
1 MiB) and made once, as start-up's objects are.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """Pause the cyclic collector for start-up."""
    gc.disable()


def resume() -> None:
    """If start-up paused the collector: freeze what start-up built and resume it.

    Nothing happens when the collector is running (the command run in-process by a test
    or another program, which did not pause it).
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
