"""The notifier registry: every entry is a working channel whose secrets stay secret.

Parametrized over :data:`CHANNELS` with a sample config per entry (channel_samples.py,
secrets marked): each entry builds a notifier of its channel, its secrets are masked
in logs, delivery errors, config errors and API answers, and a bad field is a config
error naming the file, the line and the field.  A deliberately broken entry (a secret
typed ``str``) shows the secret check fails when an entry forgets a secret.
"""

from __future__ import annotations

import inspect
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from monitor.alerting.notification import DeliveryError, Notification
from monitor.alerting.notifiers import CHANNELS, Channel, build_notifiers
from monitor.alerting.notifiers._hooks import HookNotifier
from monitor.alerting.notifiers.registry import registry
from monitor.api.scrub import Scrubber
from monitor.config.channel_settings import SecretHttpUrl, Timeout, secret_values_of
from monitor.config.channels import ChannelSettings
from monitor.config.loader import load_config
from monitor.config.models import Strict
from monitor.config.targets import CHANNEL_KINDS, ChannelKind, target_problem
from monitor.errors import ConfigError, RegistryError
from monitor.logging import make_logger
from monitor.redact import Redactor
from tests.alerting.notifiers.channel_samples import MARK, SAMPLES, Sample
from tests.alerting.notifiers.samples import sample
from tests.alerting.notifiers.servers import HttpServer, Reply

NAMES = list(CHANNELS)


# --- a deliberately broken entry ----------------------------------------------------------


class LeakySettings(Strict):
    """Like a real channel, but its API key is typed ``str``: the mistake the test must catch."""

    url: SecretHttpUrl
    api_key: str = Field(description="forgot SecretStr")
    timeout: Timeout = timedelta(seconds=2)


class LeakyNotifier(HookNotifier):
    """Posts its API key in the body, as many APIs want it."""

    channel = "leaky"

    def __init__(self, settings: dict[str, LeakySettings], *, log: Any) -> None:
        super().__init__(settings, log=log)
        self._keys = {name: entry.api_key for name, entry in settings.items()}

    def render(self, notification: Notification) -> dict[str, Any]:
        return {"account": self._keys[notification.address], "text": notification.summary}


LEAKY = Channel(ChannelKind("leaky", LeakySettings, "'leaky:NAME'"), LeakyNotifier)


def leaky_sample(url: str) -> Sample:
    return Sample(
        {"ops": {"url": f"{url}/hook/{MARK}-leaky-url", "api_key": f"{MARK}-leaky-key"}},
        "leaky:ops",
        (("ops", "url"), "nope", "url must be an http"),
    )


# --- the secret check ---------------------------------------------------------------------


def marked(value: Any) -> list[str]:
    """Every string inside ``value`` that carries the secret mark."""
    if isinstance(value, str):
        return [value] if MARK in value else []
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [found for item in items for found in marked(item)]


def parse(channel: Channel, section: Any) -> Any:
    """The section as the channel's settings model(s), as ChannelSettings would hold it."""
    if channel.named:
        return {name: channel.settings.model_validate(entry) for name, entry in section.items()}
    return channel.settings.model_validate(section)


def shown(settings: Any) -> str:
    """What a repr or a JSON dump of the parsed section shows."""
    models = settings.values() if isinstance(settings, dict) else [settings]
    return "".join(repr(m) + m.model_dump_json() for m in models if isinstance(m, BaseModel))


async def leaks(channel: Channel, spec: Sample, server: HttpServer) -> set[str]:
    """Where a secret of ``spec`` shows: repr, log, delivery error, config error, API."""
    found: set[str] = set()
    secrets = marked(spec.section)
    assert secrets, "a sample must mark its secrets"
    settings = parse(channel, spec.section)
    known = secret_values_of(settings)
    if MARK in shown(settings):
        found.add("repr")
    # A log line quoting every secret in free text, through the Runtime's kind of logger.
    stream = io.StringIO()
    log = make_logger(Redactor(known), fmt="json", stream=stream)
    log.warning("delivery_failed", detail=" ".join(f"rejected {s}" for s in secrets))
    if MARK in stream.getvalue():
        found.add("log")
    # A receiver that fails and echoes the request: the notifier's error must not show it.
    server.script(Reply(500))
    server.echo_body = True
    notifier = channel.build(settings, log=log)
    try:
        await notifier.send(sample(target=spec.target))
    except DeliveryError as exc:
        if MARK in exc.message or MARK in str(exc):
            found.add("delivery error")
    else:
        found.add("delivery succeeded against a failing receiver")
    finally:
        await notifier.close()
    # A config mistake next to the secrets: the messages never quote one.
    path, value, _ = spec.bad
    try:
        parse(channel, with_value(spec.section, path, value))
    except ValidationError as exc:
        if any(MARK in e["msg"] for e in exc.errors(include_url=False, include_input=False)):
            found.add("config error")
    # The API's net, built from the same secrets the loader collects.
    answer = {"alerts": [{"summary": f"target said {s}", "labels": {"x": s}} for s in secrets]}
    if MARK in json.dumps(Scrubber(known).data(answer)):
        found.add("api")
    return found


def with_value(section: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``section`` with ``value`` at ``path``."""
    copy = json.loads(json.dumps(section))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


def sample_for(name: str, url: str) -> Sample:
    return SAMPLES[name](url)


# --- tests --------------------------------------------------------------------------------


class TestRegistry:
    """``CHANNELS`` is the one list of channels; ``ChannelSettings`` and the samples follow it."""

    def test_settings_have_one_section_per_entry(self) -> None:
        """Every entry has its ChannelSettings field holding its model, and there is no other."""
        assert sorted(ChannelSettings.model_fields) == sorted(c.key for c in CHANNELS.values())
        for name, channel in CHANNELS.items():
            section = SAMPLES[name]("http://127.0.0.1:9").section
            held = channel.configured(ChannelSettings.model_validate({channel.key: section}))
            models = list(held.values()) if channel.named else [held]
            assert models, name
            assert all(type(m) is channel.settings for m in models), name

    def test_readme_documents_every_field(self) -> None:
        """Each setting of each channel has its row in the README's channel tables."""
        readme = (Path(__file__).parents[3] / "README.md").read_text()
        missing = [
            f"{c.key}.{'NAME.' if c.named else ''}{field}"
            for c in CHANNELS.values()
            for field in c.settings.model_fields
            if f"| `{c.key}.{'NAME.' if c.named else ''}{field}` |" not in readme
        ]
        assert missing == []

    def test_every_channel_kind_has_its_notifier(self) -> None:
        """The config's channel kinds and the notifiers are one list, in one order."""
        assert [c.kind for c in CHANNELS.values()] == list(CHANNEL_KINDS.values())

    def test_every_entry_has_a_sample(self) -> None:
        """The secret and field checks below cover every registered channel."""
        assert sorted(SAMPLES) == sorted(CHANNELS)


class TestRegistryRefusesBrokenEntries:
    """Building a registry refuses an entry that could not work, naming it."""

    @pytest.mark.parametrize(
        ("entries", "message"),
        [
            pytest.param(
                [CHANNELS["slack"], CHANNELS["slack"]],
                "channel 'slack' is registered twice",
                id="duplicate-name",
            ),
            pytest.param(
                [LEAKY],
                "channel 'leaky': alerting.channels has no section 'leaky' "
                "(add the field to ChannelSettings)",
                id="no-settings-section",
            ),
            pytest.param(
                [Channel(ChannelKind("Ops-Chat", LeakySettings, "'Ops-Chat:NAME'"), LeakyNotifier)],
                "channel 'Ops-Chat': a name is lower-case letters, digits and '_'",
                id="unspellable-name",
            ),
        ],
    )
    def test_a_broken_entry_is_a_registry_error(self, entries: list[Channel], message: str) -> None:
        """The error is raised when the registry is built, not when a notifier is."""
        with pytest.raises(RegistryError) as caught:
            registry(*entries)
        assert str(caught.value) == message

    def test_the_real_entries_build(self) -> None:
        """The registered channels pass the same checks."""
        assert list(registry(*CHANNELS.values())) == list(CHANNELS)


@pytest.mark.parametrize("name", NAMES)
class TestEveryChannel:
    """What each entry must do."""

    async def test_builds_its_notifier(self, name: str, http_server: HttpServer, log: Any) -> None:
        """Configured, the entry builds a notifier with its channel name and async send/close."""
        s = sample_for(name, http_server.url)
        settings = ChannelSettings.model_validate({CHANNELS[name].key: s.section})
        built = build_notifiers(settings, log=log)
        try:
            assert list(built) == [name]
            notifier = built[name]
            assert notifier.channel == name
            assert inspect.iscoroutinefunction(notifier.send)
            assert inspect.iscoroutinefunction(notifier.close)
            assert list(inspect.signature(notifier.send).parameters) == ["notification"]
        finally:
            for notifier in built.values():
                await notifier.close()
        assert target_problem(s.target, settings) is None
        assert target_problem(s.target, ChannelSettings()) is not None

    async def test_secrets_never_show(self, name: str, http_server: HttpServer) -> None:
        """No marked secret in a repr, a log line, a delivery error, a config error or an
        API answer."""
        assert await leaks(CHANNELS[name], sample_for(name, http_server.url), http_server) == set()

    def test_bad_field_is_a_located_config_error(self, name: str, tmp_path: Path) -> None:
        """A mistake in the section is a load error naming the file, line and field; no secret."""
        s = sample_for(name, "http://127.0.0.1:9")
        path, value, message = s.bad
        key = CHANNELS[name].key
        section = with_value(s.section, path, value)
        body = json.dumps({key: section}, indent=2)
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n"
            "alerting:\n  channels:\n" + "".join(f"    {line}\n" for line in body.splitlines())
        )
        with pytest.raises(ConfigError) as caught:
            load_config(config, env={})
        (problem,) = caught.value.problems
        dotted = ".".join(str(p) for p in (key, *path) if not isinstance(p, int))
        assert problem.field == f"alerting.channels.{dotted}"
        assert problem.file == str(config)
        lines = config.read_text().splitlines()
        assert problem.line is not None
        assert f"{json.dumps(path[-1])}:" in lines[problem.line - 1]
        assert message in problem.message
        assert MARK not in str(caught.value)

    def test_literal_secrets_join_the_config_secrets(self, name: str, tmp_path: Path) -> None:
        """Secrets written literally in the file are in LoadedConfig.secrets (the Runtime's
        redactor and the API's scrubber mask exactly these)."""
        s = sample_for(name, "http://127.0.0.1:9")
        body = json.dumps({CHANNELS[name].key: s.section})
        config = tmp_path / "smokewatch.yaml"
        config.write_text(
            "checks:\n  - {name: health, kind: http, url: 'http://127.0.0.1:9/health'}\n"
            f"alerting:\n  channels: {body}\n"
        )
        loaded = load_config(config, env={})
        assert set(marked(s.section)) <= loaded.secrets


class TestTheCheckCatchesAForgottenSecret:
    """The broken entry above runs through the same check and fails it."""

    async def test_a_secret_typed_str_is_caught(self, http_server: HttpServer) -> None:
        """Its API key shows in the repr, the log, the delivery error and the API answer."""
        found = await leaks(LEAKY, leaky_sample(http_server.url), http_server)
        assert {"repr", "log", "delivery error", "api"} <= found


class TestTargetProblem:
    """Load-time validation of a rule's ``notify`` targets."""

    FULL = ChannelSettings.model_validate(
        {CHANNELS[n].key: SAMPLES[n]("http://127.0.0.1:9").section for n in CHANNELS}
    )

    @pytest.mark.parametrize(
        "target",
        ["slack:#alerts", "slack:C0123456", "oncall@example.com", "email:oncall@example.com",
         "webhook:ops", "pagerduty:primary", "teams:ops", "opsgenie:ops", "discord:ops",
         "telegram:-1001234567890", "telegram:@smoke_alerts", "apprise:phones"],
        ids=["slack-channel", "slack-id", "address", "email-prefix", "webhook", "pagerduty",
             "teams", "opsgenie", "discord", "telegram-id", "telegram-channel", "apprise"],
    )  # fmt: skip
    def test_deliverable_targets(self, target: str) -> None:
        """With every channel configured these targets are deliverable."""
        assert target_problem(target, self.FULL) is None

    @pytest.mark.parametrize(
        ("target", "settings", "problem"),
        [
            ("slack:#alerts", ChannelSettings(), "'slack:#alerts' needs alerting.channels.slack "
             "(a webhook_url or a bot_token)"),
            ("oncall@example.com", None, "'oncall@example.com' needs alerting.channels.email "
             "(an SMTP server)"),
            ("email:not-an-address", FULL, "'not-an-address' is not an e-mail address"),
            ("webhook:nope", FULL, "no webhook named 'nope' in alerting.channels.webhooks "
             "(configured: ops)"),
            ("webhook:ops", ChannelSettings(), "no webhook named 'ops' in "
             "alerting.channels.webhooks (configured: none)"),
            ("pagerduty:other", FULL, "no pagerduty service named 'other' in "
             "alerting.channels.pagerduty (configured: primary)"),
            ("teams:dev", FULL, "no teams webhook named 'dev' in alerting.channels.teams "
             "(configured: ops)"),
            ("telegram:-100", ChannelSettings(), "'telegram:-100' needs "
             "alerting.channels.telegram (a bot_token)"),
            ("telegram:#general", FULL, "'#general' is not a Telegram chat id (a number such "
             "as -1001234567890, or @channel)"),
            ("matrix:#room", FULL, "unknown channel 'matrix' in 'matrix:#room': expected "
             "'slack:#channel', an e-mail address, 'webhook:NAME', 'pagerduty:NAME', "
             "'teams:NAME', 'opsgenie:NAME', 'discord:NAME', 'telegram:CHAT_ID' or "
             "'apprise:NAME'"),
            ("slack:", FULL, "target 'slack:' names no slack address"),
        ],
        ids=["slack-missing", "email-missing", "bad-address", "unknown-webhook",
             "no-webhooks", "unknown-pagerduty", "unknown-teams", "telegram-missing",
             "bad-chat", "unknown-channel", "empty-address"],
    )  # fmt: skip
    def test_undeliverable_targets_say_why(
        self, target: str, settings: ChannelSettings | None, problem: str
    ) -> None:
        """The problem names the missing setting, the unknown name or the unknown channel."""
        assert target_problem(target, settings) == problem

    @pytest.mark.parametrize("settings", [None, ChannelSettings()], ids=["none", "empty"])
    def test_nothing_configured_builds_nothing(
        self, settings: ChannelSettings | None, log: Any
    ) -> None:
        """No channels, no notifiers."""
        assert build_notifiers(settings, log=log) == {}
