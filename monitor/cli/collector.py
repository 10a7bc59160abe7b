"""Start-up without the cyclic garbage collector, then what start-up built frozen.

Start-up (importing a command's stack, loading and validating the config) builds a few
hundred thousand objects that live as long as the process: modules, classes, pydantic's
and SQLAlchemy's schemas.  The cyclic collector, left running, walks them again at every
collection of its older generations while they are being built: about 0.1 s of the 0.7 s
of CPU a ``run --once`` of one check takes (``bench/startup.py``).  So the ``smokewatch``
command pauses the collector first thing (:func:`pause`), and a command resumes it
(:func:`resume`) before it starts its work: what start-up built is then frozen (later
collections skip it; plain reference counting still frees it) and the collector runs
as usual.  While paused, garbage in reference cycles waits: start-up's is bounded (a
config is at most 1 MiB) and is kept for the process's life, as start-up's objects are.
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
