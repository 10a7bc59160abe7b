"""One working config section per registered channel, its secrets marked, and one mistake each.

Every secret value below contains :data:`MARK` and nothing else does, so a test can say
"no secret shown" without trusting the channel's own idea of its secrets: a channel
that types a secret ``str`` instead of ``SecretStr`` leaks a marked value somewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MARK = "s3cr3t"


@dataclass(frozen=True)
class Sample:
    """``section``: the value of ``alerting.channels.<key>``; ``target``: a rule's notify
    target for it; ``bad``: a path inside the section, a wrong value for it, and what
    the error says."""

    section: Any
    target: str
    bad: tuple[tuple[str | int, ...], Any, str]


def _host(url: str) -> str:
    return url.removeprefix("http://")


SAMPLES: dict[str, Callable[[str], Sample]] = {
    "slack": lambda url: Sample(
        {
            "webhook_url": f"{url}/services/T0/B0/{MARK}-slack-hook",
            "bot_token": f"xoxb-{MARK}-slack-token",
            "api_url": url,
            "timeout": "2s",
        },
        "slack:#alerts",
        (("timeout",), "0s", "timeout must be positive"),
    ),
    "email": lambda url: Sample(
        {
            "host": "127.0.0.1",
            "port": int(url.rsplit(":", 1)[1]),  # an HTTP server: not SMTP, the send fails
            "security": "tls",
            "username": "alerts",
            "password": f"{MARK}-smtp-password",
            "from_address": "smokewatch@example.com",
            "timeout": "2s",
        },
        "oncall@example.com",
        (("from_address",), "nobody", "from_address 'nobody' is not an e-mail address"),
    ),
    "webhook": lambda url: Sample(
        {
            "ops": {
                "url": f"{url}/hook?token={MARK}-hook-token",
                "headers": {"Authorization": f"Bearer {MARK}-hook-header"},
                "timeout": "2s",
            }
        },
        "webhook:ops",
        (("ops", "url"), f"ftp://hooks.example/{MARK}-bad", "url must be an http"),
    ),
    "pagerduty": lambda url: Sample(
        {"primary": {"routing_key": f"{MARK}-pd-routing-key", "url": f"{url}/v2/enqueue"}},
        "pagerduty:primary",
        (("primary", "timeout"), "0s", "timeout must be positive"),
    ),
    "teams": lambda url: Sample(
        {"ops": {"url": f"{url}/workflows/trigger?sig={MARK}-teams-sig", "timeout": "2s"}},
        "teams:ops",
        (("ops", "url"), f"teams.example/{MARK}-bad", "url must be an http"),
    ),
    "opsgenie": lambda url: Sample(
        {"ops": {"api_key": f"{MARK}-opsgenie-key", "api_url": url, "timeout": "2s"}},
        "opsgenie:ops",
        (("ops", "region"), "asia", "Input should be 'us' or 'eu'"),
    ),
    "discord": lambda url: Sample(
        {"ops": {"url": f"{url}/api/webhooks/1/{MARK}-discord-token", "timeout": "2s"}},
        "discord:ops",
        (("ops", "url"), f"discord://{MARK}-bad", "url must be an http"),
    ),
    "telegram": lambda url: Sample(
        {"bot_token": f"123456:{MARK}-telegram-token", "api_url": url, "timeout": "2s"},
        "telegram:-1001234567890",
        (("api_url",), "api.telegram.org", "api_url must be an http"),
    ),
    "apprise": lambda url: Sample(
        {"phones": {"urls": [f"json://{_host(url)}/{MARK}-apprise-path"], "timeout": "5s"}},
        "apprise:phones",
        (("phones", "urls"), [f"nope://{MARK}-bad"], "urls[0] is not a URL apprise supports"),
    ),
}
