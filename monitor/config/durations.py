"""Durations in the config: the one implementation lives in :mod:`probes.durations`.

Probe specs (a heartbeat's ``period``) need the same forms, and ``probes/`` never
imports ``monitor/``, so the parser sits there and is re-exported here.
"""

from probes.durations import Duration, format_duration, parse_duration

__all__ = ["Duration", "format_duration", "parse_duration"]
