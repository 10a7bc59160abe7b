"""``alerting:`` settings: the delivery backoff schedule and what a config may not say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.config.alerting import AlertingSettings, DeliveryBackoff, DeliverySettings


class TestBackoff:
    @pytest.mark.parametrize(
        ("attempts", "retry_after", "expected_s"),
        [
            (1, None, 5),
            (2, None, 10),
            (4, None, 40),
            (20, None, 600),
            (1, 30.0, 30),
            (1, 2.0, 5),
            (1, 86400.0, 3600),
        ],
        ids=[
            "first-retry",
            "doubles",
            "keeps-doubling",
            "capped-at-max",
            "retry-after-longer-wins",
            "retry-after-shorter-ignored",
            "retry-after-bounded",
        ],
    )
    def test_delay(self, attempts: int, retry_after: float | None, expected_s: float) -> None:
        """Defaults: 5 s doubling to 10 min; a longer Retry-After is honoured up to 1 h."""
        delay = DeliveryBackoff().delay(attempts, retry_after)
        assert delay == timedelta(seconds=expected_s)


class TestValidation:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"evaluate_every": "0s"}, "evaluate_every"),
            ({"delivery": {"claim_lease": "5s"}}, "claim_lease"),
            ({"delivery": {"max_attempts": 0}}, "greater than or equal to 1"),
            ({"delivery": {"backoff": {"initial": "1m", "max": "10s"}}}, "max must be"),
            ({"delivery": {"backoff": {"initial": 0}}}, "initial must be positive"),
            ({"delivery": {"retries": 3}}, "Extra inputs"),
        ],
        ids=["evaluate-every", "lease", "attempts", "max-under-initial", "zero-initial", "extra"],
    )
    def test_refused(self, data: dict[str, Any], message: str) -> None:
        """A setting that cannot work is refused at load, naming what is wrong."""
        with pytest.raises(ValidationError, match=message):
            AlertingSettings.model_validate(data)

    def test_defaults_and_durations(self) -> None:
        """Durations read as people write them; the send timeout is half the lease."""
        settings = AlertingSettings.model_validate(
            {"evaluate_every": "1m", "delivery": {"claim_lease": "3m"}}
        )
        assert settings.evaluate_every == timedelta(minutes=1)
        assert settings.delivery.send_timeout == timedelta(seconds=90)
        assert DeliverySettings().poll_interval == timedelta(seconds=1)
        assert settings.channels.slack is None
