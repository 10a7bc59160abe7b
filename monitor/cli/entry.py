"""The ``smokewatch`` command's entry point: its start-up runs with the collector paused.

See :mod:`monitor.cli.collector`: the pause covers the import of the commands (Typer,
Click) and each command's own imports and config; the command resumes the collector
when it starts its work, or this does when the command returns without running.
"""

from __future__ import annotations

from monitor.cli import collector


def main() -> None:
    collector.pause()
    try:
        from monitor.cli.commands import main as command  # noqa: PLC0415 -- after the pause

        command()
    finally:
        collector.resume()
