"""Specifications of config input that cannot hurt: every broken or hostile file is refused
with exit 2 and one line naming the file, line, item and field, within bounded time and
memory, and nothing starts (no store written, no port bound, no target probed)."""

from __future__ import annotations

import subprocess
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.demo_target import TargetState
from monitor.config import load_config
from monitor.errors import ConfigError
from tests.cli.conftest import Completed
from tests.support.processes import SMOKEWATCH, free_port

Run = Callable[..., Completed]

G = "checks:\n  - name: health\n    kind: http\n    url: https://example.com/health\n"
FLOW = (
    "checks:\n  - name: f\n    kind: flow\n    steps:\n"
    "      - name: s\n        url: https://example.com/a\n"
)
RULE = "alerts:\n  - name: r\n    condition: smoke_test.success < 1\n"


def bomb(levels: int) -> str:
    """A "billion laughs": each level is ten aliases of the one before (10**levels values)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "a:\n" + "".join("  " * i + "b:\n" for i in range(1, depth))


CORE_TAGS_ONLY = "only YAML core tags"
DURATION = "expected e.g. '30s'"

# (id, smokewatch.yaml, alert-rules.yaml or None, what the one problem line must contain)
CASES: list[tuple[str, bytes | str, str | bytes | None, list[str]]] = [
    # -- the file itself: encoding, size, structure, YAML features ------------------------
    ("not-utf8", G.encode() + b"    description: caf\xe9\n", None, [":5:", "not UTF-8"]),
    ("utf16", G.encode("utf-16"), None, [":1:", "not UTF-8"]),
    ("nul-byte", G + "    description: a\x00b\n", None, [":5:", "special characters"]),
    ("over-1-mib", G + "#" + "x" * 1024 * 1024 + "\n", None, ["larger than 1024 KiB"]),
    ("nested-5000-flow", "checks: " + "[" * 5000 + "]" * 5000, None, [":1:", "nested too deep"]),
    ("nested-150-block", nested(150), None, [":101:", "nested too deeply"]),
    ("alias-bomb", bomb(9), None, [":5:", "an alias bomb?"]),
    ("python-tag", G + "    description: !!python/object/apply:os.system [id]\n", None,
     [":5:", "python/object", CORE_TAGS_ONLY]),
    ("binary-tag", G + "    description: !!binary aGk=\n", None, [":5:", CORE_TAGS_ONLY]),
    ("local-tag", G + "    description: !secret x\n", None, [":5:", "'!secret'", CORE_TAGS_ONLY]),
    ("timestamp-tag", G + "    description: !!timestamp 2001-12-14\n", None,
     [":5:", CORE_TAGS_ONLY]),
    ("empty-file", "", None, ["no checks defined"]),
    ("only-comments", "# nothing here\n", None, ["no checks defined"]),
    ("top-level-scalar", "hello\n", None, [":1:", "top level must be a mapping"]),
    ("top-level-list", "- a\n- b\n", None, [":1:", "top level must be a mapping"]),
    ("tab-indent", "checks:\n\t- name: a\n", None, [":2:", "invalid YAML"]),
    ("duplicate-key", G + "    url: https://example.com/other\n", None,
     [":5:", "duplicate key \"url\""]),
    ("two-documents", G + "---\n" + G, None, [":5:", "another document"]),
    ("unclosed-flow", "checks: [\n", None, [":2:", "invalid YAML"]),
    ("unclosed-quote", "checks:\n  - name: \"a\n", None, [":3:", "invalid YAML"]),
    # -- intervals, timeouts, retries: the floors --------------------------------------
    ("interval-0", G + "    interval: 0\n", None,
     [":5:", "checks[0] (health)", "field 'interval'", "at least 1s (got 0s)"]),
    ("interval-1ms", G + "    interval: 1ms\n", None, [":5:", "field 'interval'", "(got 1ms)"]),
    ("interval-500ms", G + "    interval: 500ms\n", None, [":5:", "at least 1s (got 500ms)"]),
    ("interval-negative", G + "    interval: -5s\n", None, [":5:", "'-5s'", DURATION]),
    ("interval-word", G + "    interval: soonish\n", None, [":5:", "'soonish'", DURATION]),
    ("interval-huge", G + "    interval: 99999999999d\n", None, [":5:", "is too long"]),
    ("default-interval-0", "defaults: {interval: 0}\n" + G, None,
     [":1:", "field 'defaults.interval'", "at least 1s"]),
    ("timeout-0", G + "    timeout: 0\n", None,
     [":5:", "field 'timeout'", "at least 10ms (got 0s)"]),
    ("timeout-1ms", G + "    timeout: 1ms\n", None, [":5:", "at least 10ms (got 1ms)"]),
    ("default-timeout-5ms", "defaults: {timeout: 5ms}\n" + G, None,
     [":1:", "field 'defaults.timeout'", "(got 5ms)"]),
    ("retries-negative", G + "    retries: -1\n", None, [":5:", "field 'retries'", "0"]),
    ("retries-1000", G + "    retries: 1000\n", None, [":5:", "field 'retries'", "10"]),
    ("retries-word", G + "    retries: many\n", None, [":5:", "field 'retries'", "integer"]),
    ("backoff-factor-0", G + "    backoff: {factor: 0}\n", None, [":5:", "'backoff.factor'"]),
    ("retry-on-unknown", G + "    retry_on: [sometimes]\n", None,
     [":5:", "field 'retry_on[0]'", "'connection'"]),
    ("cron-words", G + "    cron: every day\n", None, [":5:", "field 'cron'", "5 fields"]),
    ("lease-poll-0", "scheduler: {lease_poll: 0}\n" + G, None,
     [":1:", "field 'scheduler.lease_poll'", "at least 100ms"]),
    ("recheck-word", "scheduler: {recheck: sometimes}\n" + G, None,
     [":1:", "field 'scheduler.recheck'", DURATION]),
    # -- storage.url: scheme and path, offline ------------------------------------------
    ("storage-mysql", "storage: {url: 'mysql://u@db/x'}\n" + G, None,
     [":1:", "field 'storage.url'", "unsupported database URL scheme 'mysql'"]),
    ("storage-http", "storage: {url: 'http://db.example.com/x'}\n" + G, None,
     [":1:", "field 'storage.url'", "scheme 'http'"]),
    ("storage-not-a-directory", "storage: {url: 'sqlite:////etc/hostname/x.db'}\n" + G, None,
     [":1:", "field 'storage.url'", "/etc/hostname is not a directory"]),
    ("storage-empty", "storage: {url: ''}\n" + G, None, [":1:", "database URL is empty"]),
    ("storage-bad-port", "storage: {url: 'postgresql://u:p@db:nope/x'}\n" + G, None,
     [":1:", "field 'storage.url'", "port"]),
    ("storage-retention-word", "storage: {retention: forever}\n" + G, None,
     [":1:", "field 'storage.retention'", DURATION]),
    # -- the shape of checks --------------------------------------------------------------
    ("checks-a-mapping", "checks: {a: 1}\n", None, [":1:", "field 'checks'"]),
    ("check-a-string", "checks:\n  - just a string\n", None, [":2:", "checks[0]", "dictionary"]),
    ("checks-empty", "checks: []\n", None, ["no checks defined"]),
    ("checks-missing", "defaults: {retries: 1}\n", None, ["no checks defined"]),
    ("unknown-top-key", "colour: blue\n" + G, None, [":1:", "field 'colour'", "Extra inputs"]),
    ("unknown-check-field", G + "    colour: blue\n", None,
     [":5:", "checks[0] (health)", "field 'colour'"]),
    ("unknown-kind", "checks:\n  - name: a\n    kind: ftp\n    url: x\n", None,
     [":3:", "checks[0] (a)", "field 'kind'", "unknown kind 'ftp'", "http, flow"]),
    ("missing-kind", "checks:\n  - name: a\n    url: https://e.com\n", None,
     [":2:", "checks[0] (a)", "field 'kind'", "required: one of http"]),
    ("missing-name", "checks:\n  - kind: http\n    url: https://e.com\n", None,
     [":2:", "checks[0]", "field 'name'", "Field required"]),
    ("bad-name", "checks:\n  - name: 'a b/c'\n    kind: http\n    url: https://e.com\n", None,
     [":2:", "checks[0] (a b/c)", "field 'name'", "pattern"]),
    ("missing-url", "checks:\n  - name: a\n    kind: http\n", None,
     [":2:", "checks[0] (a)", "field 'url'", "Field required"]),
    ("gopher-url", "checks:\n  - name: a\n    kind: http\n    url: gopher://x\n", None,
     [":4:", "field 'url'", "'http' or 'https'"]),
    ("post-in-http-check", G + "    method: POST\n", None, [":5:", "field 'method'", "'GET'"]),
    ("bad-regex", G + "    expect: {body_matches: '(unclosed'}\n", None,
     [":5:", "field 'expect.body_matches'", "invalid regular expression"]),
    ("status-999", G + "    expect: {status: 999}\n", None,
     [":5:", "field 'expect.status'", "not an HTTP status code"]),
    ("two-json-operators", G + "    expect:\n      json: [{path: $.a, equals: 1, gt: 0}]\n",
     None, [":6:", "field 'expect.json[0]'", "exactly one of"]),
    ("bad-json-path", G + "    expect:\n      json: [{path: '$[', equals: 1}]\n", None,
     [":6:", "field 'expect.json[0].path'", "invalid JSON path"]),
    ("headers-a-list", G + "    headers: [a, b]\n", None, [":5:", "field 'headers'"]),
    ("unset-env", "checks:\n  - name: a\n    kind: http\n    url: ${NOPE_UNSET}/x\n", None,
     [":4:", "checks[0] (a)", "field 'url'", "NOPE_UNSET is not set"]),
    ("flow-post-without-allow", FLOW + "        method: POST\n", None,
     [":5:", "checks[0] (f)", "field 'steps[0]'", "allow_write: true"]),
    ("flow-without-steps", "checks:\n  - name: f\n    kind: flow\n    steps: []\n", None,
     [":4:", "checks[0] (f)", "field 'steps'"]),
    ("websocket-http-url", "checks:\n  - name: w\n    kind: websocket\n    url: http://e.com\n",
     None, [":4:", "checks[0] (w)", "field 'url'", "ws://"]),
    # -- cross-item errors carry their line too ---------------------------------------
    ("duplicate-check-names", G + "  - name: health\n    kind: http\n    url: https://e.com\n",
     None, [":5:", "checks[1] (health)", "field 'name'", "used twice (first by checks[0])"]),
    ("unknown-region", "regions: [eu-west-1]\n" + G + "    regions: [mars-1]\n", None,
     [":6:", "checks[0] (health)", "field 'regions[0]'", "unknown region 'mars-1'"]),
    # -- other sections ---------------------------------------------------------------
    ("rate-fraction-2", "rate_limit: {fraction: 2}\n" + G, None,
     [":1:", "field 'rate_limit.fraction'"]),
    ("rate-limit-0", "rate_limit: {hosts: {e.com: {limit: 0}}}\n" + G, None,
     [":1:", "field 'rate_limit.hosts.e.com.limit'"]),
    ("concurrency-0", "runner: {concurrency: 0}\n" + G, None,
     [":1:", "field 'runner.concurrency'"]),
    ("log-level-loud", "logging: {level: loud}\n" + G, None, [":1:", "field 'logging.level'"]),
    ("api-body-limit-0", "api: {max_body_bytes: 0}\n" + G, None,
     [":1:", "field 'api.max_body_bytes'", "1024"]),
    ("api-request-timeout-0", "api: {request_timeout: 0}\n" + G, None,
     [":1:", "field 'api.request_timeout'", "at least 1s"]),
    # -- alert-rules.yaml ---------------------------------------------------------------
    ("rule-condition-prose", G, "alerts:\n  - name: r\n    condition: success is low\n",
     ["alert-rules.yaml:3:", "alerts[0] (r)", "field 'condition'", "cannot parse condition"]),
    ("rule-unknown-metric", G, "alerts:\n  - name: r\n    condition: smoke.latency > 3\n",
     ["alert-rules.yaml:3:", "field 'condition'", "unknown metric 'smoke.latency'"]),
    ("rule-bad-notify", G, RULE + "    notify: [pager]\n",
     ["alert-rules.yaml:4:", "field 'notify[0]'", "invalid notify target 'pager'"]),
    ("rule-unknown-check", G, RULE + "    checks: [nope]\n",
     ["alert-rules.yaml:4:", "field 'checks[0]'", "no check matches 'nope'"]),
    ("rule-duplicate-names", G, RULE + RULE.removeprefix("alerts:\n"),
     ["alert-rules.yaml:4:", "alerts[1] (r)", "field 'name'", "used twice (first by alerts[0])"]),
    ("rule-window-word", G, RULE + "    window: sometime\n",
     ["alert-rules.yaml:4:", "field 'window'", DURATION]),
    ("rule-severity-unknown", G, RULE + "    severity: apocalyptic\n",
     ["alert-rules.yaml:4:", "field 'severity'", "'critical'"]),
    ("rules-not-utf8", G, b"alerts:\n  - name: caf\xe9\n", ["alert-rules.yaml:2:", "not UTF-8"]),
    ("rules-alias-bomb", G, bomb(7), ["alert-rules.yaml:5:", "an alias bomb?"]),
    ("rules-top-level-list", G, "- a\n", ["alert-rules.yaml:1:", "must be a mapping"]),
]  # fmt: skip


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


class TestBadConfigTable:
    @pytest.mark.parametrize(
        ("config", "rules", "expected"),
        [c[1:] for c in CASES],
        ids=[c[0] for c in CASES],
    )
    def test_each_is_refused_with_exit_2_naming_where(
        self,
        cli: Run,
        tmp_path: Path,
        config: str | bytes,
        rules: str | bytes | None,
        expected: list[str],
    ) -> None:
        """Exit 2 and one problem line: the file (with its line where one applies), the item
        and the field where they apply, and what is wrong; never a traceback."""
        _write(tmp_path / "smokewatch.yaml", config)
        if rules is not None:
            _write(tmp_path / "alert-rules.yaml", rules)
        # --strict: an unset ${VAR} is refused too (without it, a warning).
        done = cli("validate", "--strict", "--config", str(tmp_path / "smokewatch.yaml"))
        assert done.code == 2, done.stdout
        problem = done.stderr.strip().splitlines()[-1]
        file = "alert-rules.yaml" if expected[0].startswith("alert-rules") else "smokewatch.yaml"
        assert f"{tmp_path / file}" in problem
        for fragment in expected:
            assert fragment in problem
        assert "1 problem(s)" in done.stderr
        assert "Traceback" not in done.stderr + done.stdout

    def test_the_table_is_the_issue_s_72_cases_or_more(self) -> None:
        """The table covers at least the 72 broken configs measured when this was filed."""
        assert len({c[0] for c in CASES}) == len(CASES) >= 72


class TestBounds:
    @pytest.mark.parametrize(
        "text",
        [bomb(9), bomb(12), "checks: " + "[" * 100_000, G + "#" + "x" * 50 * 1024 * 1024],
        ids=["alias-bomb-1e9", "alias-bomb-1e12", "nested-100000", "file-50-mib"],
    )
    def test_hostile_input_costs_little_memory_and_cpu(self, tmp_path: Path, text: str) -> None:
        """Refused having allocated under 100 MB (measured by tracemalloc) and under 1 s of
        CPU (process time: the machine's load does not count): the limits are checked while
        reading, before anything is built."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(text)
        tracemalloc.start()
        cpu = time.process_time()
        with pytest.raises(ConfigError):
            load_config(path, env={})
        spent = time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 100 * 1024 * 1024
        assert spent < 1.0


class TestOnline:
    def test_validate_online_names_a_store_that_does_not_answer(
        self, cli: Run, tmp_path: Path
    ) -> None:
        """A PostgreSQL URL on a closed port passes offline, fails --online with exit 2."""
        url = f"postgresql://smoke:secret-pw@127.0.0.1:{free_port()}/smoke"
        path = tmp_path / "smokewatch.yaml"
        path.write_text(f"storage: {{url: '{url}'}}\n" + G)
        assert cli("validate", "--config", str(path)).code == 0
        done = cli("validate", "--online", "--config", str(path))
        assert done.code == 2
        assert "cannot reach the store" in done.stderr
        assert "secret-pw" not in done.stderr  # the password never shows

    def test_validate_online_proves_a_sqlite_file_can_be_written(
        self, cli: Run, tmp_path: Path
    ) -> None:
        """/proc passes permission checks for root but cannot hold a file: --online tries."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text("storage: {url: 'sqlite:////proc/smokewatch-test.db'}\n" + G)
        done = cli("validate", "--online", "--config", str(path))
        assert done.code == 2
        assert "cannot write SQLite file /proc/smokewatch-test.db" in done.stderr


class TestServeStartsNothing:
    def _serve(self, config: Path, port: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: PLW1510 -- the exit code is what the tests assert
            [SMOKEWATCH, "serve", "--config", str(config), "--host", "127.0.0.1",
             "--port", str(port)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def test_a_taken_port_exits_2_naming_it_before_any_probe_or_write(
        self, tmp_path: Path, served_url: str, target: TargetState
    ) -> None:
        """With the port already bound, serve exits 2 at once naming the port: the target
        gets no request and no store file is created."""
        db = tmp_path / "results.db"
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            f"storage: {{url: 'sqlite:///{db}'}}\nalert_rules: null\n"
            f"checks:\n  - name: health\n    kind: http\n    url: {served_url}/health\n"
        )
        import socket  # noqa: PLC0415 -- only this test holds a port

        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            done = self._serve(config, port)
        assert done.returncode == 2, done.stderr
        assert str(port) in done.stderr
        assert "Traceback" not in done.stderr
        assert target.stats.request_count("/health", "GET") == 0
        assert not db.exists()

    def test_an_unreachable_store_exits_2_before_binding(self, tmp_path: Path) -> None:
        """A store that does not answer is named with exit 2, before the port is bound."""
        port = free_port()
        config = tmp_path / "smokewatch.yaml"
        url = f"postgresql://smoke:pw@127.0.0.1:{free_port()}/smoke"
        config.write_text(f"storage: {{url: '{url}'}}\n" + G)
        done = self._serve(config, port)
        assert done.returncode == 2
        assert "cannot reach the store" in done.stderr
        assert "Traceback" not in done.stderr
