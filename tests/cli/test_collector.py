"""The ``smokewatch`` command starts up with the cyclic garbage collector paused, then
works with it running and start-up's objects frozen (``monitor.cli.collector``).

Each case runs the command's entry point in a fresh interpreter, as the installed
script does, with a ``gc.callbacks`` hook counting collections and a spy on
``asyncio.run`` noting the collector's state when the command's work starts.
"""

from __future__ import annotations

import gc
import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from examples.demo_target import DemoTargetThread
from monitor.cli import collector
from tests.support.processes import python_child

REPO = Path(__file__).resolve().parents[2]

# Runs ``smokewatch ARGS`` through monitor.cli.entry and writes, to the file named by
# argv[1]: the collections before the work started, the collector's state and the
# frozen count at that moment, and the same at exit.
CHILD = """\
import asyncio, atexit, gc, json, sys
out, args = sys.argv[1], sys.argv[2:]
seen = {"collections": 0}
gc.callbacks.append(lambda phase, info: phase == "stop" and seen.update(
    collections=seen["collections"] + 1))
real_run = asyncio.run
def spy(coro, **kwargs):
    seen["work"] = {"collections": seen["collections"], "enabled": gc.isenabled(),
                    "frozen": gc.get_freeze_count()}
    return real_run(coro, **kwargs)
asyncio.run = spy
def dump():
    seen["exit"] = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
    with open(out, "w") as f:
        json.dump(seen, f)
atexit.register(dump)
sys.argv = ["smokewatch", *args]
from monitor.cli.entry import main
main()
"""


def _entry_run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "gc.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SMOKEWATCH_DATABASE_URL", None)
    done = python_child(CHILD, str(out), *args, env=env)
    assert out.exists(), done.stderr
    return done.returncode, json.loads(out.read_text())


def test_the_installed_command_is_the_entry_point_that_pauses() -> None:
    """pyproject.toml's ``smokewatch`` script is ``monitor.cli.entry:main``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["smokewatch"] == "monitor.cli.entry:main"


def test_run_once_starts_up_without_a_collection_and_works_with_start_up_frozen(
    tmp_path: Path,
    served: DemoTargetThread,
    write_config: Callable[[str], Path],
) -> None:
    """Importing the run stack and loading the config collect nothing; when the checks
    start the collector is running, with start-up's objects frozen; it runs during the
    work (collections happen) and is still running at exit."""
    config = write_config(f"- {{name: health, kind: http, url: '{served.url}/health'}}\n")
    code, seen = _entry_run(tmp_path, "run", "--once", "--config", str(config))
    assert code == 0
    work = seen["work"]
    assert work["collections"] == 0
    assert work["enabled"] is True
    assert work["frozen"] > 50_000  # modules, classes, schemas: start-up's objects
    assert seen["collections"] > 0  # the work's garbage is collected as usual
    assert seen["exit"]["enabled"] is True
    assert seen["exit"]["frozen"] <= work["frozen"]  # frozen once: the work's are not


def test_a_command_that_runs_nothing_resumes_the_collector_as_it_returns(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    """``validate`` starts no work: no collection during it, the collector running at
    exit, start-up frozen; a bad config (exit 2) resumes it too."""
    good = write_config("- {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n")
    for text, expected in ((good.read_text(), 0), (good.read_text() + "  - 3\n", 2)):
        good.write_text(text)
        code, seen = _entry_run(tmp_path, "validate", "--config", str(good))
        assert code == expected
        assert "work" not in seen
        assert seen["collections"] == 0
        assert seen["exit"]["enabled"] is True
        assert seen["exit"]["frozen"] > 10_000


def test_resume_leaves_a_running_collector_alone() -> None:
    """In a process that did not pause it (a test, a program running the commands
    in-process), resuming neither freezes anything nor changes the collector."""
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
