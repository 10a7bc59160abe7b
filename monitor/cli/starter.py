"""``smokewatch init``: a commented starter config that validates as written.

Two files, side by side: ``smokewatch.yaml`` (a health check with a JSON assertion and a
homepage browser check) and ``alert-rules.yaml`` (one rule notifying Slack and e-mail).
The channels' secrets are ``${VAR}`` placeholders: ``validate`` names them as unset
until they are set, and ``run``/``serve`` refuse to start without them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from monitor.errors import UsageError

RULES_FILE = "alert-rules.yaml"

_CONFIG = """\
# smokewatch starter config, written by `smokewatch init`.  Every setting: README.md.
# Check it with `smokewatch validate`; run it once with `smokewatch run --once`.
# For editors: smokewatch schema > smokewatch.schema.json
# yaml-language-server: $schema=smokewatch.schema.json
defaults:
  interval: 5m          # how often each check runs under `smokewatch serve`
  timeout: 30s          # hard limit per attempt
  retries: 2            # extra attempts on connection errors, timeouts, 5xx and 429
storage:
  url: sqlite:///smokewatch.db      # or postgresql://user@host/db, shared by every region
alert_rules: {rules}
# Values from the environment: ${{VAR}}.  A webhook URL is a credential: list it here so
# it is redacted everywhere (names like *PASSWORD*, *TOKEN* are redacted anyway).
secrets: [SLACK_WEBHOOK_URL]
alerting:
  channels:
    slack: {{webhook_url: "${{SLACK_WEBHOOK_URL}}"}}     # an incoming webhook
    email:
      host: smtp.example.com          # your SMTP server (STARTTLS on 587)
      username: smokewatch
      password: "${{SMTP_PASSWORD}}"
      from_address: smokewatch@example.com
checks:
  - name: health
    kind: http
    url: {base}/health
    expect:
      status: [200]
      json:
        - {{path: $.status, equals: healthy}}   # the body is JSON with "status": "healthy"
      response_time: {{degraded_ms: 500, fail_ms: 2000}}

  - name: homepage
    kind: browser                     # real Chromium: load time, visible elements, console
    url: {base}/
    required_selectors: [body]        # elements that must be visible, e.g. "#app"
    budgets: {{degraded_ms: 1500, fail_ms: 3000}}   # on the page's load event
    max_console_errors: 0
"""

_RULES = """\
# smokewatch alert rules, written by `smokewatch init`.  The grammar: README.md ("Alert rules").
alerts:
  - name: smoke_test_failure
    condition: smoke_test.success < 0.9   # under 90 % of runs passing over the window
    window: 5 minutes
    severity: critical
    notify: ["slack:#alerts", oncall@example.com]   # set SLACK_WEBHOOK_URL and SMTP_PASSWORD
"""


def write_starter(config: Path, url: str, *, force: bool = False) -> list[Path]:
    """Write ``config`` and the rules file beside it for a target at ``url``; the paths."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) URL, e.g. https://app.example.com")
    rules = config.with_name(RULES_FILE)
    existing = [p for p in (config, rules) if p.exists()]
    if existing and not force:
        names = " and ".join(str(p) for p in existing)
        raise UsageError(f"{names} already exist{'s' * (len(existing) == 1)}: pass --force")
    base = url.rstrip("/")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(_CONFIG.format(base=base, rules=RULES_FILE), encoding="utf-8")
    rules.write_text(_RULES, encoding="utf-8")
    return [config, rules]
