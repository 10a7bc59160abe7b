"""Specifications of `validate`, `schema` and `check`: bad input is named, never half-loaded."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from examples.demo_target import TargetState
from probes import PROBES
from tests.cli.conftest import Completed

Run = Callable[..., Completed]

GOOD_CHECK = """\
checks:
  - name: health
    kind: http
    url: https://example.com/health
"""

# (id, smokewatch.yaml, alert-rules.yaml or None, what stderr must name)
BAD_CONFIGS = [
    ("unknown-field", GOOD_CHECK + "    colour: blue\n", None, ["checks[0] (health)", "'colour'"]),
    ("bad-duration", GOOD_CHECK + "    interval: soonish\n", None, ["field 'interval'", ":5:"]),
    ("negative-retries", GOOD_CHECK + "    retries: -1\n", None, ["field 'retries'"]),
    (
        "unknown-kind",
        "checks:\n  - name: a\n    kind: ftp\n    url: x\n",
        None,
        ["checks[0] (a)", "ftp"],
    ),
    (
        "missing-url",
        "checks:\n  - name: a\n    kind: http\n",
        None,
        ["field 'url'", "Field required"],
    ),
    (
        "not-http-url",
        "checks:\n  - name: a\n    kind: http\n    url: gopher://x\n",
        None,
        ["field 'url'"],
    ),
    ("post-in-http-check", GOOD_CHECK + "    method: POST\n", None, ["field 'method'"]),
    (
        "unset-env",
        "checks:\n  - name: a\n    kind: http\n    url: ${NOPE_UNSET}/x\n",
        None,
        ["NOPE_UNSET is not set", ":4:"],
    ),
    (
        "bad-regex",
        GOOD_CHECK + "    expect: {body_matches: '(unclosed'}\n",
        None,
        ["field 'expect.body_matches'", "regular expression"],
    ),
    (
        "two-json-operators",
        GOOD_CHECK + "    expect:\n      json: [{path: $.a, equals: 1, gt: 0}]\n",
        None,
        ["expect.json[0]"],
    ),
    (
        "duplicate-names",
        GOOD_CHECK + "  - name: health\n    kind: http\n    url: https://e.com\n",
        None,
        ["'health' is used twice"],
    ),
    (
        "write-without-allow",
        textwrap.dedent("""\
        checks:
          - name: login
            kind: flow
            steps:
              - name: submit
                method: POST
                url: https://example.com/login
        """),
        None,
        ["checks[0] (login)", "step 'submit' uses POST", "allow_write"],
    ),
    (
        "dns-resolver-by-name",
        "checks:\n  - name: d\n    kind: dns\n    query_name: example.com\n"
        "    resolver: dns.google\n",
        None,
        ["checks[0] (d)", "field 'resolver'", "must be an IP address", ":5:"],
    ),
    (
        "dns-answer-not-a-record",
        "checks:\n  - name: d\n    kind: dns\n    query_name: example.com\n"
        "    expect: {answers: [1.2.3]}\n",
        None,
        ["checks[0] (d)", "expect.answers[0]: '1.2.3' is not a A record"],
    ),
    (
        "tcp-url-as-host",
        "checks:\n  - name: t\n    kind: tcp\n    host: tcp://db\n    port: 5432\n",
        None,
        ["checks[0] (t)", "field 'host'", "bare host name"],
    ),
    (
        "tls-old-protocol",
        "checks:\n  - name: t\n    kind: tls\n    host: example.com\n"
        "    expect: {min_version: SSLv3}\n",
        None,
        ["checks[0] (t)", "field 'expect.min_version'"],
    ),
    (
        "heartbeat-short-token",
        "checks:\n  - name: h\n    kind: heartbeat\n    token: abc\n    period: 1h\n",
        None,
        ["checks[0] (h)", "field 'token'", "16-200 characters"],
    ),
    ("invalid-yaml", "checks:\n  - name: [unclosed\n", None, ["invalid YAML"]),
    ("no-checks", "checks: []\n", None, ["no checks defined"]),
    ("top-level-list", "- a\n- b\n", None, ["top level must be a mapping"]),
    (
        "bad-condition",
        GOOD_CHECK,
        "alerts:\n  - name: r\n    condition: success is low\n",
        ["alert-rules.yaml:3", "alerts[0] (r)", "field 'condition'", "cannot parse condition"],
    ),
    (
        "unknown-metric",
        GOOD_CHECK,
        "alerts:\n  - name: r\n    condition: smoke.latency > 3\n",
        ["unknown metric"],
    ),
    (
        "bad-notify",
        GOOD_CHECK,
        "alerts:\n  - name: r\n    condition: smoke_test.success < 1\n    notify: [pager]\n",
        ["field 'notify[0]'", "invalid notify target"],
    ),
    (
        "rule-names-unknown-check",
        GOOD_CHECK,
        "alerts:\n  - name: r\n    condition: smoke_test.success < 1\n    checks: [nope]\n",
        ["alerts[0] (r)", "no check matches 'nope'"],
    ),
]


class TestValidate:
    @pytest.mark.parametrize(
        ("config", "rules", "expected"),
        [c[1:] for c in BAD_CONFIGS],
        ids=[c[0] for c in BAD_CONFIGS],
    )
    def test_a_bad_config_exits_2_naming_the_problem(
        self, cli: Run, tmp_path: Path, config: str, rules: str | None, expected: list[str]
    ) -> None:
        """Each bad config gives exit 2 and a message naming the file, item and field."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(config)
        if rules is not None:
            (tmp_path / "alert-rules.yaml").write_text(rules)
        # --strict: an unset ${VAR} is refused too (without it, a warning: TestUnsetVariables).
        done = cli("validate", "--strict", "--config", str(path))
        assert done.code == 2, done.stdout
        assert "smokewatch.yaml" in done.stderr or "alert-rules.yaml" in done.stderr
        for fragment in expected:
            assert fragment in done.stderr
        assert "Traceback" not in done.stderr

    def test_every_problem_is_printed_not_just_the_first(
        self, smokewatch: Run, tmp_path: Path
    ) -> None:
        """Three independent mistakes are all reported in one run."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(GOOD_CHECK + "    retries: -1\n    timeout: never\n    colour: red\n")
        done = smokewatch("validate", "--config", str(path))
        assert done.code == 2
        assert "3 problem(s)" in done.stderr
        for field in ("'retries'", "'timeout'", "'colour'"):
            assert field in done.stderr

    def test_a_missing_file_exits_2(self, cli: Run, tmp_path: Path) -> None:
        """A config path that does not exist is named, not a stack trace."""
        done = cli("validate", "--config", str(tmp_path / "nope.yaml"))
        assert (done.code, "nope.yaml: file not found" in done.stderr) == (2, True)

    def test_the_shipped_configs_are_valid(self, smokewatch: Run) -> None:
        """The demo config and the spec's alert rules validate."""
        demo = Path(__file__).resolve().parents[2] / "examples" / "smokewatch.yaml"
        done = smokewatch(
            "validate",
            "--config",
            str(demo),
            env={
                "DEMO_TARGET_URL": "http://x",
                "DEMO_TARGET_URL_WS": "ws://x",
                "SMOKE_TEST_PASSWORD": "pw12",
            },
        )
        assert done.code == 0, done.stderr
        assert "2 alert rules" in done.stdout


EVERY_NEW_KIND = """\
checks:
  - name: postgres-port
    kind: tcp
    host: db.internal
    port: 5432
  - name: redis-ping
    kind: tcp
    host: cache.internal
    port: 6380
    tls: true
    send: "PING\\r\\n"
    expect: {contains: "+PONG", response_time: {fail_ms: 500}}
  - name: www-a-record
    kind: dns
    query_name: www.example.com
    record_type: A
    resolver: 1.1.1.1:53
    expect: {answers: [93.184.215.14]}
  - name: api-certificate
    kind: tls
    host: api.example.com
    expect: {days_left: 14, days_left_degraded: 30, min_version: TLSv1.2}
  - name: nightly-backup
    kind: heartbeat
    token: hb-3f9a0c1e5d7b2a48
    period: 1d
    grace: 30m
    max_run: 2h
    interval: 5m
"""


class TestSchema:
    def test_the_schema_describes_every_check_kind(self, cli: Run) -> None:
        """`smokewatch schema` prints a JSON Schema with a check model for every probe kind."""
        done = cli("schema")
        schema = json.loads(done.stdout)
        assert schema["$schema"].endswith("2020-12/schema")
        assert {f"{kind.capitalize()}Check" for kind in PROBES} <= set(schema["$defs"])
        assert schema["properties"]["checks"]["type"] == "array"

    def test_a_config_of_the_tcp_dns_tls_and_heartbeat_kinds_is_valid_by_schema_and_loader(
        self, cli: Run, tmp_path: Path
    ) -> None:
        """Editors (the schema) and smokewatch (validate) agree on one example of each kind."""
        schema = json.loads(cli("schema").stdout)
        document = YAML(typ="safe").load(EVERY_NEW_KIND)
        Draft202012Validator(schema).validate(document)
        path = tmp_path / "smokewatch.yaml"
        path.write_text(EVERY_NEW_KIND + "alert_rules: null\n")
        done = cli("validate", "--config", str(path))
        assert done.code == 0, done.stderr


class TestCheck:
    def test_check_prints_timings_and_assertions(
        self, smokewatch: Run, write_config: Callable[[str], Path], target: TargetState
    ) -> None:
        """`smokewatch check NAME` runs one check and shows its phases and each assertion."""
        config = write_config(
            """\
            - name: api-status
              kind: http
              url: ${TARGET}/api/v1/status
              expect:
                json: [{path: $.status, equals: healthy}]
            """
        )
        done = smokewatch("check", "api-status", "--config", str(config))
        assert done.code == 0, done.stderr
        for text in ("api-status", "pass", "connect", "first_byte", "total", "json $.status"):
            assert text in done.stdout
        assert target.stats.request_count("/api/v1/status", "GET") == 1

    def test_an_unknown_check_name_exits_2(
        self, cli: Run, write_config: Callable[[str], Path]
    ) -> None:
        """Asking for a check that is not configured lists the ones that are."""
        config = write_config("- name: a\n  kind: http\n  url: https://example.com\n")
        done = cli("check", "b", "--config", str(config))
        assert done.code == 2
        assert "no check named 'b'" in done.stderr


FOUR_MISTAKES = """\
storage:
  url: mysql://db/results
checks:
  - name: health
    kind: http
    url: ${NOPE_UNSET}/health
  - name: home
    kind: http
    url: https://example.com/
    colour: blue
  - name: api
    kind: http
    url: https://example.com/api
    interval: soonish
"""
FOUR_MISTAKES_RULES = """\
alerts:
  - name: down
    condition: smoke_test.success < 0.9
    window: soon
"""


class TestOnePass:
    def test_mistakes_of_every_stage_and_both_files_come_in_one_run(
        self, smokewatch: Run, tmp_path: Path
    ) -> None:
        """An unset variable (interpolation), an unknown field and a bad duration (the
        models), a bad rule window (the rules file) and a bad store URL (storage) are all
        named in one run, each with file:line, item and field: no second round."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(FOUR_MISTAKES)
        (tmp_path / "alert-rules.yaml").write_text(FOUR_MISTAKES_RULES)
        done = smokewatch("validate", "--strict", "--config", str(path))
        assert done.code == 2
        rules = tmp_path / "alert-rules.yaml"
        assert done.stderr.splitlines() == [
            "invalid config: 5 problem(s)",
            f"  {path}:6: checks[0] (health): field 'url': environment variable NOPE_UNSET "
            "is not set",
            f"  {path}:10: checks[1] (home): field 'colour': Extra inputs are not permitted",
            f"  {path}:14: checks[2] (api): field 'interval': invalid duration 'soonish': "
            "expected e.g. '30s', '30m', '1h30m', '5 minutes' or a number of seconds",
            f"  {rules}:4: alerts[0] (down): field 'window': invalid duration 'soon': "
            "expected e.g. '30s', '30m', '1h30m', '5 minutes' or a number of seconds",
            f"  {path}:2: field 'storage.url': unsupported database URL scheme 'mysql': use "
            "sqlite:///PATH, a file path, or postgresql://USER:PASSWORD@HOST:PORT/DB",
        ]

    def test_rules_are_cross_checked_against_the_valid_checks(
        self, cli: Run, tmp_path: Path
    ) -> None:
        """With a broken check, a rule naming a check that does not exist is still named in
        the same run; a rule that could select the broken check is left for the next run."""
        path = tmp_path / "smokewatch.yaml"
        path.write_text(
            "alert_rules: alert-rules.yaml\nchecks:\n"
            "  - {name: home, kind: http, url: 'https://e.com/'}\n"
            "  - {name: api, kind: http, url: 'https://e.com/api', interval: soonish}\n"
        )
        rule = "    condition: smoke_test.success < 0.9\n    window: 5m\n"
        (tmp_path / "alert-rules.yaml").write_text(
            f"alerts:\n  - name: typo\n{rule}    checks: [hom]\n"
            f"  - name: on-api\n{rule}    checks: [api]\n"
            f"  - name: all\n{rule}"
        )
        done = cli("validate", "--config", str(path))
        assert done.code == 2
        assert done.stderr.splitlines()[0] == "invalid config: 2 problem(s)"
        assert "checks[1] (api): field 'interval'" in done.stderr
        assert (
            f"{tmp_path / 'alert-rules.yaml'}:5: alerts[0] (typo): field 'checks[0]': "
            "no check matches 'hom' (checks: home, api)"
        ) in done.stderr


UNSET = """\
storage: {url: "sqlite:///{db}"}
secrets: [HOOK_URL]
alerting:
  channels:
    slack: {webhook_url: "${HOOK_URL}"}
checks:
  - name: health
    kind: http
    url: ${APP_URL}/health
    headers: {Authorization: "Bearer ${API_TOKEN}"}
"""


def readme_example() -> str:
    """The README's example smokewatch.yaml: the first YAML block under "## Configuration"."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


class TestReadmeExample:
    def test_the_readme_example_passes_schema_and_validate(self, cli: Run, tmp_path: Path) -> None:
        """What the README shows is what smokewatch takes: its Configuration example passes
        the JSON Schema and ``validate`` (its ``${VAR}`` placeholders only warn)."""
        example = readme_example()
        Draft202012Validator(json.loads(cli("schema").stdout)).validate(
            YAML(typ="safe").load(example)
        )
        path = tmp_path / "smokewatch.yaml"
        path.write_text(example)
        done = cli("validate", "--config", str(path))
        assert done.code == 0, done.stderr

    @pytest.mark.parametrize(
        ("retry_on", "valid"),
        [
            ("[connection, 429]", True),
            ('[5xx, "429"]', True),
            ("[429.0]", True),
            ("[true]", False),
            ("[428]", False),
            ("[4xx]", False),
        ],
        ids=["bare-429", "quoted-429", "same-number-as-json", "bool", "other-code", "unknown-text"],
    )
    def test_retry_on_takes_429_bare_or_quoted(
        self, cli: Run, tmp_path: Path, retry_on: str, valid: bool
    ) -> None:
        """YAML reads a bare ``429`` as a number; schema and loader both take it as the
        reason ``"429"`` and refuse any other number."""
        config = GOOD_CHECK + f"    retry_on: {retry_on}\n"
        schema = Draft202012Validator(json.loads(cli("schema").stdout))
        assert schema.is_valid(YAML(typ="safe").load(config)) is valid
        path = tmp_path / "smokewatch.yaml"
        path.write_text(config + "alert_rules: null\n")
        done = cli("validate", "--config", str(path))
        assert (done.code, "retry_on" in done.stderr) == ((0, False) if valid else (2, True))


class TestUnsetVariables:
    @pytest.fixture
    def config(self, tmp_path: Path) -> Path:
        path = tmp_path / "smokewatch.yaml"
        path.write_text(UNSET.replace("{db}", str(tmp_path / "r.db")))
        (tmp_path / "alert-rules.yaml").write_text(
            "alerts:\n  - name: down\n    condition: smoke_test.success < 0.9\n"
            "    window: 5m\n    notify: ['slack:#alerts']\n"
        )
        return path

    def test_validate_warns_and_passes(self, cli: Run, config: Path) -> None:
        """Each unset variable is a warning naming file:line, item, field and variable, and
        the rest of the file is still checked (exit 0: CI validates without secrets)."""
        done = cli("validate", "--config", str(config))
        assert done.code == 0, done.stderr
        assert done.stderr.splitlines() == [
            "warning: 3 unset variable(s) (--strict makes them errors)",
            f"  {config}:5: field 'alerting.channels.slack.webhook_url': environment variable "
            "HOOK_URL is not set",
            f"  {config}:9: checks[0] (health): field 'url': environment variable APP_URL is "
            "not set",
            f"  {config}:10: checks[0] (health): field 'headers.Authorization': environment "
            "variable API_TOKEN is not set",
        ]
        assert done.stdout.startswith("ok: ")

    def test_strict_makes_them_errors(self, cli: Run, config: Path) -> None:
        """`validate --strict` refuses the same file: three problems, exit 2."""
        done = cli("validate", "--strict", "--config", str(config))
        assert done.code == 2
        assert "invalid config: 3 problem(s)" in done.stderr

    def test_other_mistakes_still_fail(self, cli: Run, config: Path) -> None:
        """A real mistake beside an unset variable is still an error (exit 2)."""
        config.write_text(config.read_text() + "    retries: -1\n")
        done = cli("validate", "--config", str(config))
        assert done.code == 2
        assert "invalid config: 1 problem(s)" in done.stderr
        assert "field 'retries'" in done.stderr

    def test_rules_export_works_without_them(self, cli: Run, config: Path) -> None:
        """`rules export` needs no secret: it prints the rules and warns on stderr."""
        done = cli("rules", "export", "--config", str(config))
        assert done.code == 0, done.stderr
        assert "alert: down" in done.stdout
        assert "HOOK_URL is not set" in done.stderr
        assert cli("rules", "export", "--strict", "--config", str(config)).code == 2

    def test_run_refuses_to_start_without_them(self, cli: Run, config: Path) -> None:
        """Commands that use the values (here `run --once`) still refuse: exit 2."""
        done = cli("run", "--once", "--config", str(config))
        assert done.code == 2
        assert "invalid config: 3 problem(s)" in done.stderr


class TestValidateBudgets:
    def test_overcommitted_host_exits_2_naming_file_item_and_rates(
        self, cli: Run, tmp_path: Path
    ) -> None:
        """1,000 checks a minute on one host with the default budget: exit 2, naming the file,
        the line of the origin's first check, the origin, the needed and the allowed rate."""
        listed = "".join(
            f"  - name: c{n}\n    kind: http\n    url: http://127.0.0.1:9/p{n}\n    interval: 60s\n"
            for n in range(1000)
        )
        path = tmp_path / "smokewatch.yaml"
        path.write_text(f"alert_rules: null\nchecks:\n{listed}")
        done = cli("validate", "--config", str(path))
        assert done.code == 2, done.stdout
        assert f"{path}:3: origin http://127.0.0.1:9: field 'rate_limit.default':" in done.stderr
        assert "1000 check(s) need 1000 requests a minute, the budget allows 60" in done.stderr
        assert "Traceback" not in done.stderr
