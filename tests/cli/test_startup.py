"""Specifications of how the CLI starts and speaks: it imports only what a command needs, a
busy port fails before anything runs, and output without a terminal is not wrapped."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from examples.demo_target import TargetState
from tests.cli.conftest import Completed
from tests.support.processes import HOST, python_child

Run = Callable[..., Completed]
HEAVY = ("playwright", "sqlalchemy", "alembic", "aiosmtplib", "fastapi", "uvicorn")
# What checks and notifiers run with, loaded on first use (probes.lazy): not by a config load.
RUN_TIME = (
    "httpx",
    "jsonpath",
    "jsonschema",
    "jinja2",
    "apscheduler.triggers.cron",
    "aiosmtplib",
    "dns.message",
    "cryptography.x509",
    "websockets.asyncio.client",
)


def _imported_after(statement: str) -> set[str]:
    """Top-level packages loaded after ``statement``, in a fresh interpreter (a module bound
    by ``probes.lazy`` whose code has not run yet does not count)."""
    code = (
        f"{statement}\nimport sys, json\nprint(json.dumps(sorted(n for n, m in sys.modules.items()"
        " if type(m).__name__ != '_LazyModule')))"
    )
    done = python_child(code)
    done.check_returncode()
    return {name.partition(".")[0] for name in json.loads(done.stdout)}


def _loaded_by_config(config: Path) -> set[str]:
    """Every module a fresh interpreter has run after ``load_config(config)`` (a module bound
    by ``probes.lazy`` whose code has not run does not count)."""
    code = (
        "import json, sys\nfrom pathlib import Path\n"
        "from monitor.config.loader import load_config\n"
        f"load_config(Path({str(config)!r}), {{}})\n"
        "print(json.dumps(sorted(n for n, m in sys.modules.items() "
        "if type(m).__name__ != '_LazyModule')))"
    )
    done = python_child(code)
    done.check_returncode()
    return set(json.loads(done.stdout))


class TestLazyImports:
    def test_importing_the_cli_loads_no_heavy_package(self) -> None:
        """`import monitor.cli.commands` (what `--help` costs) loads neither Playwright, SQLAlchemy,
        alembic, aiosmtplib nor the API stack."""
        loaded = _imported_after("import monitor.cli.commands")
        assert "typer" in loaded  # the check can see what was imported
        assert sorted(loaded & set(HEAVY)) == []

    def test_loading_a_config_loads_no_browser_and_no_migrations(self) -> None:
        """The config loader (what `validate` costs) needs the probes' models, not Playwright,
        and checks storage.url with the standard library, not SQLAlchemy."""
        loaded = _imported_after("import monitor.config.loader")
        assert "probes" in loaded
        assert sorted(loaded & set(HEAVY)) == []

    def test_loading_a_config_runs_no_client_library(self, tmp_path: Path) -> None:
        """Loading a config with an http check executes none of the
        libraries checks and notifiers run with (httpx, jsonpath, jinja2, dnspython...)."""
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            "storage: {url: 'sqlite:///x.db'}\nalert_rules: null\n"
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n"
        )
        loaded = _loaded_by_config(config)
        assert "monitor.config.root" in loaded  # the check can see what was loaded
        assert sorted(loaded & set(RUN_TIME)) == []


class TestPreloading:
    """Libraries a check runs with are running before its first run, and only those."""

    def test_run_once_of_a_plain_http_check_never_loads_the_json_libraries(
        self, tmp_path: Path
    ) -> None:
        """No JSON assertion, no schema: `run --once` loads httpx but neither jsonpath nor
        jsonschema (about 90 ms of start-up)."""
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path / 'r.db'}'}}\nalert_rules: null\n"
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n"
        )
        code, loaded = _imported_by_command(
            tmp_path / "modules.json", "run", "--once", "-c", str(config)
        )
        assert code == 1  # nothing listens on port 9: the check ran and did not pass
        assert "httpx" in loaded
        assert sorted(loaded & {"jsonpath", "jsonschema"}) == []

    def test_json_and_schema_assertions_load_their_libraries_with_the_config(
        self, tmp_path: Path
    ) -> None:
        """With a JSON assertion and a schema, loading the config (before any check is
        timed) has already run jsonpath and jsonschema."""
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            "storage: {url: 'sqlite:///x.db'}\nalert_rules: null\n"
            "checks:\n  - name: api\n    kind: http\n    url: http://127.0.0.1:9/api\n"
            "    expect:\n      json: [{path: $.status, equals: ok}]\n"
            "      json_schema: {type: object}\n"
        )
        loaded = _loaded_by_config(config)
        assert {"jsonpath", "jsonschema"} <= loaded


# What a command must not load to answer: the run stack, the API stack, the browser, and
# Rich/markdown-it (Typer's rich help, ~0.3 s) and asyncio (only commands that run something).
NOT_FOR_HELP = (*HEAVY, "httpx", "apscheduler", "rich", "markdown_it", "asyncio")
NOT_FOR_VALIDATE = (*HEAVY, "httpx", "apscheduler", "rich", "markdown_it")


def _imported_by_command(dump: Path, *args: str) -> tuple[int, set[str]]:
    """Exit code of ``smokewatch ARGS`` run in a fresh interpreter, and the top-level packages
    it had loaded when it exited (see :func:`_modules_of_command`)."""
    code, names = _modules_of_command(dump, *args)
    return code, {name.partition(".")[0] for name in names}


def _modules_of_command(
    dump: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, set[str]]:
    """Exit code of ``smokewatch ARGS`` run in a fresh interpreter, and every module it had
    loaded when it exited, written to ``dump`` at exit (a ``probes.lazy`` module whose code
    has not run does not count)."""
    code = (
        "import atexit, json, sys\n"
        "from pathlib import Path\n"
        "dump = Path(sys.argv[1])\n"
        "atexit.register(lambda: dump.write_text(json.dumps(sorted("
        "n for n, m in sys.modules.items() if type(m).__name__ != '_LazyModule'))))\n"
        "from monitor.cli.commands import main\n"
        "sys.argv = ['smokewatch', *sys.argv[2:]]\n"
        "main()\n"
    )
    done = python_child(code, str(dump), *args, env=None if env is None else {**os.environ, **env})
    return done.returncode, set(json.loads(dump.read_text()))


class TestCommandImports:
    @pytest.mark.parametrize(
        "args",
        [("--help",), ("validate", "--help"), ("incident", "--help"), ("--version",)],
        ids=["help", "validate-help", "incident-help", "version"],
    )
    def test_help_loads_neither_rich_nor_the_run_stack(
        self, tmp_path: Path, args: tuple[str, ...]
    ) -> None:
        """`smokewatch --help` (and a subcommand's help, and --version) exits 0 without
        loading Rich, markdown-it, asyncio or any package checks and the API run with."""
        code, loaded = _imported_by_command(tmp_path / "modules.json", *args)
        assert code == 0
        assert "typer" in loaded  # the check can see what was imported
        assert sorted(loaded & set(NOT_FOR_HELP)) == []

    @pytest.mark.parametrize(
        ("config", "exit_code"),
        [
            ("checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n", 0),
            ("checks:\n  - {name: health, kind: http, url: 3}\n", 2),
        ],
        ids=["valid", "invalid"],
    )
    def test_validate_loads_no_heavy_package(
        self, tmp_path: Path, config: str, exit_code: int
    ) -> None:
        """`smokewatch validate`, on a valid config and on a bad one, loads the probes'
        models but none of SQLAlchemy, Playwright, the API stack, httpx, APScheduler or
        Rich."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n{config}"
        )
        code, loaded = _imported_by_command(
            tmp_path / "modules.json", "validate", "--config", str(path)
        )
        assert code == exit_code
        assert "probes" in loaded  # the check can see what was imported
        assert sorted(loaded & set(NOT_FOR_VALIDATE)) == []


# What validate used to load and no longer does: the notifier registry with every notifier
# and its client code (monitor.alerting), ruamel (libyaml reads ordinary files), and jinja2
# when no rule has annotation templates to check.
NOT_LOADED_BY_VALIDATE = ("monitor.alerting", "ruamel", "jinja2", "apprise", "aiosmtplib")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULES_WITHOUT_TEMPLATES = (
    "alerts:\n  - {name: down, condition: smoke_test.success < 0.9, window: 5m, "
    "notify: [oncall@example.com, 'slack:#alerts', 'webhook:ops']}\n"
)
CHANNELS = (
    "alerting:\n  channels:\n    slack: {webhook_url: 'https://hooks.example.com/x'}\n"
    "    email: {host: smtp.example.com, from_address: smokewatch@example.com}\n"
    "    webhooks: {ops: {url: 'https://hooks.example.com/ops'}}\n"
)


class TestValidateLoadsNoAlerting:
    """`smokewatch validate` checks channels, notify targets and templates with the config
    package alone: no notifier, no alerting module, no YAML round-trip reader."""

    def test_rules_and_channels_without_templates(self, tmp_path: Path) -> None:
        """Rules notifying three configured channels are checked without monitor.alerting,
        ruamel or jinja2 (nothing to render)."""
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\n{CHANNELS}"
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n"
        )
        (tmp_path / "alert-rules.yaml").write_text(RULES_WITHOUT_TEMPLATES)
        code, loaded = _modules_of_command(
            tmp_path / "modules.json", "validate", "--config", str(config)
        )
        assert code == 0
        assert "monitor.config.targets" in loaded  # the check can see what was loaded
        found = sorted(m for m in loaded if m.split(".")[0] in NOT_LOADED_BY_VALIDATE)
        found += sorted(m for m in loaded if m.startswith("monitor.alerting"))
        assert found == []

    def test_the_demo_config(self, tmp_path: Path) -> None:
        """The bundled demo config, with its alert rules (templates: jinja2 loads to check
        them), loads nothing of monitor.alerting."""
        env = {
            "DEMO_TARGET_URL": "http://127.0.0.1:9",
            "DEMO_TARGET_URL_WS": "ws://127.0.0.1:9",
            "SMOKE_TEST_PASSWORD": "x",
        }
        code, loaded = _modules_of_command(
            tmp_path / "modules.json",
            "validate",
            "--config",
            str(EXAMPLES / "smokewatch.yaml"),
            env=env,
        )
        assert code == 0
        assert "jinja2" in loaded  # the check can see what was loaded
        assert sorted(m for m in loaded if m.startswith(("monitor.alerting", "ruamel"))) == []


class TestValidateNeedsNoEventLoop:
    def test_http_checks_and_budgets_are_validated_without_asyncio(self, tmp_path: Path) -> None:
        """`validate` of an HTTP check with a JSON assertion and a declared host budget (the
        budget fit is checked) loads no asyncio: reading a config needs no event loop, and
        asyncio is about 20 ms of start-up.  The store check, ``--online``, loads it."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n"
            "rate_limit: {hosts: {127.0.0.1: {limit: 100, window: 1m}}}\n"
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health',"
            " expect: {json: [{path: $.status, equals: ok}]}}\n"
        )
        code, loaded = _modules_of_command(
            tmp_path / "modules.json", "validate", "--config", str(path)
        )
        assert code == 0
        assert {"probes.http", "monitor.scheduling.budgets"} <= loaded  # it did check them
        assert sorted(m for m in loaded if m.partition(".")[0] == "asyncio") == []


# What `run --once` of HTTP checks never needs: the browser, the API stack, and (on a store
# already at the newest schema) alembic and its templates.
NOT_FOR_HTTP_RUN = ("playwright", "fastapi", "uvicorn", "starlette", "aiosmtplib")
NOT_FOR_MIGRATED_RUN = (*NOT_FOR_HTTP_RUN, "alembic", "mako")


class TestRunOnceImports:
    @pytest.mark.parametrize(
        ("runs", "unwanted"),
        [(1, NOT_FOR_HTTP_RUN), (2, NOT_FOR_MIGRATED_RUN)],
        ids=["fresh-store", "migrated-store"],
    )
    def test_an_http_run_loads_neither_browser_nor_api(
        self,
        tmp_path: Path,
        served_url: str,
        monkeypatch: pytest.MonkeyPatch,
        runs: int,
        unwanted: tuple[str, ...],
    ) -> None:
        """`run --once` of an HTTP check stores its result without loading Playwright or the
        API stack, and, once the store is at the newest schema, without alembic."""
        monkeypatch.delenv("SMOKEWATCH_DATABASE_URL", raising=False)
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n"
            f"checks:\n  - {{name: health, kind: http, url: '{served_url}/health'}}\n"
        )
        for _ in range(runs):
            code, loaded = _imported_by_command(
                tmp_path / "modules.json", "run", "--once", "--config", str(path)
            )
            assert code == 0
        assert {"httpx", "sqlalchemy"} <= loaded  # the check can see what was imported
        assert sorted(loaded & set(unwanted)) == []

    def test_a_sqlite_run_loads_no_postgresql_dialect(
        self, tmp_path: Path, served_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`run --once` on a SQLite store stores its result without SQLAlchemy's PostgreSQL
        dialect (~40 ms), which an index option in the table definitions used to load."""
        monkeypatch.delenv("SMOKEWATCH_DATABASE_URL", raising=False)
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n"
            f"checks:\n  - {{name: health, kind: http, url: '{served_url}/health'}}\n"
        )
        code, loaded = _modules_of_command(
            tmp_path / "modules.json", "run", "--once", "--config", str(path)
        )
        assert code == 0
        assert "sqlalchemy.dialects.sqlite" in loaded  # the check can see what was loaded
        assert sorted(m for m in loaded if m.startswith("sqlalchemy.dialects.postgresql")) == []


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen()
        yield sock.getsockname()[1]


class TestBusyPort:
    @pytest.mark.parametrize(
        ("command", "hint"),
        [("serve", "pick another with --port"), ("demo", "(make demo PORT=8081)")],
    )
    def test_a_busy_port_fails_first(
        self,
        smokewatch: Run,
        write_config: Callable[[str], Path],
        target: TargetState,
        taken_port: int,
        command: str,
        hint: str,
    ) -> None:
        """Exit 2 with one line naming the port and suggesting --port, before the config or
        the store is touched and before any check runs."""
        config = write_config("- name: health\n  kind: http\n  url: ${TARGET}/health\n")
        args = ["--config", str(config)] if command == "serve" else []
        started = time.monotonic()
        done = smokewatch(command, "--port", str(taken_port), *args)
        assert done.code == 2
        assert done.stderr == (
            f"error: cannot listen on 127.0.0.1:{taken_port}: the port is already in use; "
            f"pick another with --port{' ' + hint if command == 'demo' else ''}\n"
        )
        assert time.monotonic() - started < 10
        assert target.stats.request_count("/health") == 0
        assert not (config.parent / "results.db").exists()


class TestNoTerminal:
    def test_a_pipe_gets_whole_lines(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """Without a TTY (CI logs), a run's table rows are not wrapped at 80 columns: a long
        failure message stays on its row."""
        config = write_config(
            "- name: a-check-with-a-rather-long-name-to-widen-the-table\n  kind: http\n"
            "  url: ${TARGET}/health\n  retries: 0\n"
            "  expect: {json: [{path: $.status, equals: some-status-this-target-never-reports}]}\n"
        )
        done = smokewatch("run", "--once", "--config", str(config), env={"COLUMNS": ""})
        assert done.code == 1, done.stderr
        rows = [line for line in done.stdout.splitlines() if line.startswith("│ a-check-with")]
        assert len(rows) == 1
        assert "some-status-this-target-never-reports" in rows[0]
        assert len(rows[0]) > 120


# Each kind's module, imported (and its check model built) only when a config names it.
KIND_MODULES = {
    "http": "probes.http",
    "flow": "probes.flow",
    "websocket": "probes.websocket",
    "browser": "probes.browser",
    "tcp": "probes.tcp",
    "tls": "probes.tls",
    "dns": "probes.dnsquery",
    "heartbeat": "probes.heartbeat",
}


class TestValidateBuildsNamedKindsOnly:
    @pytest.mark.parametrize(
        ("check", "code", "modules"),
        [
            ("{name: h, kind: http, url: 'http://127.0.0.1:9/'}", 0, {"probes.http"}),
            ("{name: h, kind: browser, url: 'http://127.0.0.1:9/'}", 0, {"probes.browser"}),
            ("{name: h, kind: tcp, host: 127.0.0.1, port: 9}", 0, {"probes.tcp"}),
            # a config naming no registered kind validates against http's union
            ("{name: h, kind: htp, url: 'http://127.0.0.1:9/'}", 2, {"probes.http"}),
        ],
        ids=["http", "browser", "tcp", "unknown-kind"],
    )
    def test_validate_imports_only_the_probe_modules_the_config_names(
        self, tmp_path: Path, check: str, code: int, modules: set[str]
    ) -> None:
        """`smokewatch validate` imports the probe module of each kind its checks name and
        none of the other kinds' modules (each costs 10-90 ms and a pydantic build)."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n"
            f"checks:\n  - {check}\n"
        )
        exit_code, loaded = _modules_of_command(
            tmp_path / "modules.json", "validate", "--config", str(path)
        )
        assert exit_code == code
        assert loaded & set(KIND_MODULES.values()) == modules


# The models of the optional sections and of the alert rules (with the channels' and the
# notify targets' they use): about 60 ms of pydantic builds a one-check config never needs.
SECTION_MODULES = {
    "telemetry": {"monitor.config.telemetry"},
    "alerting": {
        "monitor.config.alerting",
        "monitor.config.channels",
        "monitor.config.channel_settings",
        "monitor.config.regions",
        "monitor.config.targets",
    },
    "artifacts": {"monitor.config.artifacts"},
}
RULE_MODULES = {"monitor.config.rules", "monitor.config.targets"}


class TestValidateBuildsWrittenSectionsOnly:
    @pytest.mark.parametrize(
        ("sections", "expected"),
        [
            ("", set()),
            ("telemetry: {}\n", SECTION_MODULES["telemetry"]),
            ("alerting: {}\n", SECTION_MODULES["alerting"]),
            ("artifacts: {}\n", SECTION_MODULES["artifacts"]),
        ],
        ids=["none", "telemetry", "alerting", "artifacts"],
    )
    def test_validate_builds_only_the_sections_the_config_writes(
        self, tmp_path: Path, sections: str, expected: set[str]
    ) -> None:
        """`smokewatch validate` of a config without alert rules builds the models of the
        optional sections it writes and of no other, nor the alert rules' models."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\nalert_rules: null\n{sections}"
            "checks:\n  - {name: h, kind: http, url: 'http://127.0.0.1:9/'}\n"
        )
        code, loaded = _modules_of_command(
            tmp_path / "modules.json", "validate", "--config", str(path)
        )
        assert code == 0
        optional = set().union(*SECTION_MODULES.values(), RULE_MODULES)
        assert loaded & optional == expected

    def test_a_rules_file_builds_the_rules_models(self, tmp_path: Path) -> None:
        """With alert rules to check, their models (and the notify targets') load."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            f"storage: {{url: 'sqlite:///{tmp_path}/x.db'}}\n"
            "checks:\n  - {name: h, kind: http, url: 'http://127.0.0.1:9/'}\n"
        )
        (tmp_path / "alert-rules.yaml").write_text(
            "alerts:\n  - {name: down, condition: smoke_test.success < 0.9, window: 5m}\n"
        )
        code, loaded = _modules_of_command(
            tmp_path / "modules.json", "validate", "--config", str(path)
        )
        assert code == 0
        assert loaded >= RULE_MODULES
