"""``alerting:`` in ``smokewatch.yaml``: when rules are evaluated, how the outbox is delivered.

```yaml
alerting:
  evaluate_every: 30s          # the timer: catches `for`, no data, reminders, silence expiry
  delivery:
    backoff: {initial: 5s, factor: 2, max: 10m}
    max_attempts: 12           # then the row is marked failed (visible in the API)
    claim_lease: 2m            # the longest a claimed row is reserved for its sender
    owner_timeout: 10s         # a sender silent this long is gone: its claims are free
    drain_timeout: 30s         # run --once: how long to keep delivering before exiting
  channels: {...}              # see monitor/config/channels.py
  region_health: {...}         # see monitor/config/regions.py
```
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from monitor.config.channels import ChannelSettings
from monitor.config.regions import RegionHealthSettings
from monitor.modeltypes import Duration, Strict
from probes.retry import backoff_s

MIN_OWNER_TIMEOUT = timedelta(seconds=2)


class DeliveryBackoff(Strict):
    """Delay before attempt ``n + 1`` after ``n`` failed ones: ``initial * factor**(n-1)``, capped.

    A channel's ``Retry-After`` is honoured when it asks for longer, up to ``retry_after_max``.
    """

    initial: Duration = Field(timedelta(seconds=5), description="wait before the first retry")
    factor: float = Field(
        2.0, ge=1.0, le=10.0, description="each retry waits this many times longer than the last"
    )
    max: Duration = Field(timedelta(minutes=10), description="the longest wait between retries")
    retry_after_max: Duration = Field(
        timedelta(hours=1), description="longest a channel's Retry-After may postpone a retry"
    )

    @model_validator(mode="after")
    def _positive_and_ordered(self) -> DeliveryBackoff:
        if self.initial.total_seconds() <= 0:
            raise ValueError("initial must be positive")
        if self.max < self.initial:
            raise ValueError("max must be at least initial")
        return self

    def delay(self, attempts: int, retry_after_s: float | None = None) -> timedelta:
        """The wait after ``attempts`` failed attempts (1 = the first failed)."""
        seconds = backoff_s(
            self.initial.total_seconds(), self.factor, attempts, self.max.total_seconds()
        )
        if retry_after_s is not None and retry_after_s > seconds:
            seconds = min(retry_after_s, self.retry_after_max.total_seconds())
        return timedelta(seconds=seconds)


class DeliverySettings(Strict):
    """How the deliverer sends outbox rows."""

    backoff: DeliveryBackoff = Field(
        DeliveryBackoff(), description="waits between delivery attempts of one notification"
    )
    max_attempts: int = Field(12, ge=1, le=100, description="attempts before a row is failed")
    claim_lease: Duration = Field(
        timedelta(minutes=2),
        description="how long a claimed row is reserved for its sender; a sender that died "
        "mid-send loses its claim after this and another one sends it again (same key)",
    )
    owner_timeout: Duration = Field(
        timedelta(seconds=10),
        description="a deliverer writes a heartbeat every quarter of this; one silent this long "
        "(killed, or cut off from the store) is gone and its claimed rows are sent again at once",
    )
    poll_interval: Duration = Field(
        timedelta(seconds=1), description="how often the deliverer looks for due rows"
    )
    concurrency: int = Field(8, ge=1, le=64, description="notifications sent at once")
    drain_timeout: Duration = Field(
        timedelta(seconds=30),
        description="how long 'run --once' keeps delivering (and retrying) before it exits",
    )

    @model_validator(mode="after")
    def _lease_long_enough(self) -> DeliverySettings:
        if self.claim_lease < timedelta(seconds=10):
            raise ValueError("claim_lease must be at least 10s: a send must finish within it")
        if self.poll_interval.total_seconds() <= 0:
            raise ValueError("poll_interval must be positive")
        if self.owner_timeout < MIN_OWNER_TIMEOUT:
            # Heartbeats every quarter of it: shorter would write to the store too often.
            raise ValueError(
                f"owner_timeout must be at least {MIN_OWNER_TIMEOUT.total_seconds():g}s"
            )
        return self

    @property
    def heartbeat_interval(self) -> timedelta:
        """How often a deliverer says it is alive: four heartbeats per ``owner_timeout``."""
        return self.owner_timeout / 4

    @property
    def send_timeout(self) -> timedelta:
        """A send is cut off at half the lease, so the claim never lapses while it runs."""
        return self.claim_lease / 2


class AlertingSettings(Strict):
    """``alerting:`` in ``smokewatch.yaml``."""

    enabled: bool = Field(True, description="false: no rule is evaluated, nothing is sent")
    evaluate_every: Duration = Field(
        timedelta(seconds=30),
        description="the timer evaluating every rule (after each run they are evaluated too)",
    )
    delivery: DeliverySettings = Field(
        DeliverySettings(),
        description="how the outbox delivers notifications: retries, leases, drain",
    )
    outbox_retention: Duration = Field(
        timedelta(days=30), description="delivered and failed notifications are kept this long"
    )
    channels: ChannelSettings = Field(
        ChannelSettings(),
        description="how each notifier reaches its service (slack, email, webhooks, pagerduty)",
    )
    region_health: RegionHealthSettings = Field(
        RegionHealthSettings(),
        description="the region_unhealthy alert when a region's control checks fail",
    )

    @model_validator(mode="after")
    def _interval_positive(self) -> AlertingSettings:
        if self.evaluate_every < timedelta(seconds=1):
            raise ValueError("evaluate_every must be at least 1s")
        return self
