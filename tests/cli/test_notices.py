"""Specifications of ``smokewatch incident`` and ``smokewatch maintenance``: the CLI app run
in-process (the script's own Typer app; a subprocess per call cost ~10 s each on a loaded
machine), talking to a live API over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from structlog.testing import CapturingLogger

from examples.demo_target import DemoTargetThread
from tests.api.conftest import TOKEN, LiveApi, launch
from tests.cli.conftest import Completed

Run = Callable[..., Completed]
CHECKS = """\
- {name: home, kind: http, url: '${TARGET}/health'}
- {name: pay-api, kind: http, url: '${TARGET}/health', group: Payments}
"""


@pytest.fixture
def api(tmp_path: Path, served: DemoTargetThread) -> Iterator[LiveApi]:
    """The API over CHECKS with a write token, served on 127.0.0.1."""
    # The API's log lines kept apart: the CLI runs in this process and its stdout is asserted.
    log = CapturingLogger()
    live = launch(tmp_path, served.url, checks=CHECKS, api="token: ${API_TOKEN}\n", log=log)
    yield live
    live.stop()


class TestIncidentCommands:
    def test_open_update_resolve_and_list_round_trip(self, cli: Run, api: LiveApi) -> None:
        """An incident opened, updated and resolved from the CLI is what the API then serves."""
        env = {"SMOKEWATCH_URL": api.url, "SMOKEWATCH_API_TOKEN": TOKEN}
        opened = cli(
            "incident", "open", "Checkout errors", "-m", "Investigating 500s.",
            "--impact", "major", "--component", "group:Payments", env=env,
        )  # fmt: skip
        number = opened.stdout.split()[1].rstrip(":")
        updated = cli(
            "incident", "update", number, "--status", "identified", "-m", "Bad config.", env=env
        )
        listed_open = cli("incident", "list", "--open", env=env)
        resolved = cli("incident", "resolve", number, "-m", "Fixed.", env=env)
        listed = cli("incident", "list", "--open", env=env)
        served = httpx.get(f"{api.url}/api/v1/status-page/incidents/{number}").json()
        assert (opened.code, updated.code, resolved.code) == (0, 0, 0), opened.stderr
        assert opened.stdout == f"incident {number}: Checkout errors [investigating]\n"
        assert updated.stdout == f"incident {number}: Checkout errors [identified]\n"
        assert listed_open.stdout.split("\t")[:4] == [
            number,
            "identified",
            "major",
            "Checkout errors",
        ]
        assert resolved.stdout == f"incident {number}: Checkout errors [resolved]\n"
        assert listed.stdout == ""
        assert [(u["status"], u["body"]) for u in served["updates"]] == [
            ("investigating", "Investigating 500s."),
            ("identified", "Bad config."),
            ("resolved", "Fixed."),
        ]
        assert served["components"] == ["group:Payments"]

    def test_a_refusal_is_exit_2_with_the_api_message(self, cli: Run, api: LiveApi) -> None:
        """Without the token, or naming an unknown check, the CLI exits 2 printing why."""
        bare = cli("incident", "open", "x", "-m", "y", env={"SMOKEWATCH_URL": api.url})
        env = {"SMOKEWATCH_URL": api.url, "SMOKEWATCH_API_TOKEN": TOKEN}
        unknown = cli("incident", "open", "x", "-m", "y", "--component", "nope", env=env)
        missing = cli("incident", "resolve", "42", env=env)
        assert (bare.code, unknown.code, missing.code) == (2, 2, 2)
        assert "401" in bare.stderr
        assert "'components.0': no check named 'nope'" in unknown.stderr
        assert "404: no incident with id 42" in missing.stderr

    def test_an_unreachable_instance_is_exit_2(self, cli: Run) -> None:
        """With nothing listening at --url the CLI exits 2 saying it cannot reach it."""
        done = cli("incident", "list", "--url", "http://127.0.0.1:9")
        assert done.code == 2
        assert "cannot reach http://127.0.0.1:9" in done.stderr


class TestMaintenanceCommands:
    def test_schedule_update_and_list_round_trip(self, cli: Run, api: LiveApi) -> None:
        """A maintenance scheduled from the CLI is listed, and completing it closes it."""
        env = {"SMOKEWATCH_URL": api.url, "SMOKEWATCH_API_TOKEN": TOKEN}
        start = datetime.now(UTC) + timedelta(days=1)
        made = cli(
            "maintenance", "schedule", "DB upgrade", "-m", "PostgreSQL 17.",
            "--from", start.isoformat(), "--until", (start + timedelta(hours=1)).isoformat(),
            "--component", "home", env=env,
        )  # fmt: skip
        number = made.stdout.split()[1].rstrip(":")
        listed = cli("maintenance", "list", "--open", env=env)
        done = cli("maintenance", "update", number, "--status", "completed", "-m", "Done.", env=env)
        after = cli("maintenance", "list", "--open", env=env)
        assert made.code == 0, made.stderr
        assert made.stdout == f"maintenance {number}: DB upgrade [scheduled]\n"
        assert listed.stdout.startswith(f"{number}\tscheduled\tmaintenance\tDB upgrade\t")
        assert done.stdout == f"maintenance {number}: DB upgrade [completed]\n"
        assert after.stdout == ""
