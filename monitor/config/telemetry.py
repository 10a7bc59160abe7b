"""The ``telemetry:`` section of ``smokewatch.yaml``: where results go besides the store.

Prometheus is always on (the Runtime's registry, served at ``/metrics``); every other
backend is off until its section is present.  New Relic's license key defaults to
``NEW_RELIC_LICENSE_KEY``; CloudWatch uses boto3's credential chain.  Datadog's usual
environment variables (``DD_AGENT_HOST``, ``DD_DOGSTATSD_URL``, ``DD_API_KEY``,
``DD_SITE``, ``DD_ENV``, ``DD_SERVICE``) fill what the file leaves unset; they are read
when telemetry is built, from the environment mapping handed to
:func:`monitor.telemetry.build_telemetry`, so a file value always wins and tests pass
their own environment.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from monitor.modeltypes import Duration, Strict

# 10 ms .. 30 s, with the spec's budgets as bucket bounds (100 ms health, 200 ms API,
# 500 ms the API alert, 3 s the homepage), so a budget's hit ratio is exact.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0,
)  # fmt: skip


class PrometheusSettings(Strict):
    """Metrics on the Runtime's registry: ``/metrics`` in serve mode, the Pushgateway once."""

    buckets: tuple[float, ...] = Field(
        DEFAULT_BUCKETS, description="bucket bounds of smoke_test_duration_seconds, in seconds"
    )

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("buckets must be a non-empty, strictly increasing list")
        return value


class PushgatewaySettings(Strict):
    """Where ``run --once`` pushes the registry (PUT: the group is replaced, never added to)."""

    url: str = Field(description="the Pushgateway's base URL, e.g. https://pushgateway:9091")
    job: str = Field("smokewatch", description="the 'job' of the grouping key (with 'region')")
    username: str | None = Field(None, description="basic auth user")
    password: SecretStr | None = Field(None, description="basic auth password")
    ca_file: str | None = Field(None, description="CA bundle to verify the Pushgateway's cert")
    cert_file: str | None = Field(None, description="client certificate (mutual TLS)")
    key_file: str | None = Field(None, description="client certificate's key (mutual TLS)")
    insecure_skip_verify: bool = Field(False, description="do not verify the server certificate")
    timeout: Duration = Field(timedelta(seconds=10), description="bound on one push")
    fail_run_on_error: bool = Field(
        False, description="a failed push makes 'run --once' exit 2 (default: reported only)"
    )


class DogStatsdSettings(Strict):
    """DogStatsD to the local Datadog Agent: the long-running service's way."""

    url: str | None = Field(
        None,
        description="udp://host:port or unix:///path/dsd.socket; default DD_DOGSTATSD_URL, "
        "else udp://$DD_AGENT_HOST:8125",
    )
    origin_detection: bool = Field(
        True, description="let the Agent tag metrics with this container's tags"
    )
    timeout: Duration = Field(timedelta(seconds=2), description="bound on one flush")


class AgentlessSettings(Strict):
    """Datadog's HTTP intake directly (no Agent): the CronJob's way."""

    api_key: SecretStr | None = Field(None, description="API key; default DD_API_KEY")
    site: str | None = Field(None, description="Datadog site; default DD_SITE, else datadoghq.com")
    url: str | None = Field(None, description="intake base URL; default https://api.<site>")
    hostname: str | None = Field(
        None, description="host of service checks; default smokewatch-<region> (never a pod name)"
    )
    timeout: Duration = Field(timedelta(seconds=10), description="bound on one flush")
    max_series_per_request: int = Field(
        1000, ge=1, le=5000, description="series per request (the intake caps payload size)"
    )


class DatadogSettings(Strict):
    """Metrics ``smoke_test.*`` (milliseconds) and the ``smoke_test.check`` service check."""

    mode: Literal["dogstatsd", "agentless"] = Field(
        "dogstatsd", description="dogstatsd: through the Agent; agentless: HTTP intake"
    )
    env: str | None = Field(None, description="the 'env' tag; default DD_ENV")
    service: str | None = Field(None, description="the 'service' tag; default DD_SERVICE")
    tags: dict[str, str] = Field(
        default_factory=dict, description="more constant tags (bounded values only)"
    )
    service_checks: bool = Field(True, description="send smoke_test.check per check and run")
    dogstatsd: DogStatsdSettings = Field(
        DogStatsdSettings(), description="used when mode is dogstatsd"
    )
    agentless: AgentlessSettings = Field(
        AgentlessSettings(), description="used when mode is agentless"
    )


class OtlpSettings(Strict):
    """OTLP/HTTP (protobuf) metrics: an OpenTelemetry Collector, Grafana Cloud, New Relic."""

    endpoint: str = Field(
        "http://localhost:4318/v1/metrics", description="the full metrics URL (…/v1/metrics)"
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="request headers, e.g. an API key"
    )
    compression: Literal["none", "gzip", "deflate"] = Field("gzip", description="body encoding")
    timeout: Duration = Field(timedelta(seconds=10), description="bound on one flush")


class NewRelicSettings(Strict):
    """The spec's ``smoke_test.*`` gauges (milliseconds) to New Relic's Metric API."""

    license_key: SecretStr | None = Field(
        None, description="license key (the Api-Key header); default NEW_RELIC_LICENSE_KEY"
    )
    region: Literal["us", "eu"] | None = Field(
        None,
        description="the data center: us (metric-api.newrelic.com) or eu "
        "(metric-api.eu.newrelic.com); default eu for a license key starting 'eu', else us",
    )
    url: str | None = Field(
        None, description="the full Metric API URL, replacing the region's (a proxy, FedRAMP)"
    )
    attributes: dict[str, str] = Field(
        default_factory=dict, description="more constant attributes (bounded values only)"
    )
    timeout: Duration = Field(
        timedelta(seconds=10), description="bound on one flush, its retries included"
    )
    retries: int = Field(
        2, ge=0, le=5, description="retries of a request answered 408, 429 or 5xx, or unanswered"
    )
    max_metrics_per_request: int = Field(
        2000, ge=1, le=10_000, description="data points per request (the API takes 1 MB gzipped)"
    )


class CloudWatchSettings(Strict):
    """The spec's ``smoke_test.*`` metrics to Amazon CloudWatch (``PutMetricData``)."""

    namespace: str = Field(
        "Smokewatch", min_length=1, max_length=255, description="the metrics' namespace"
    )
    region: str | None = Field(
        None, description="AWS region; default boto3's chain (AWS_REGION, AWS_DEFAULT_REGION, ...)"
    )
    endpoint_url: str | None = Field(
        None, description="the CloudWatch endpoint (a VPC endpoint, a local emulator)"
    )
    access_key_id: SecretStr | None = Field(
        None, description="e.g. ${AWS_ACCESS_KEY_ID}; unset: boto3's default credential chain"
    )
    secret_access_key: SecretStr | None = Field(
        None, description="e.g. ${file:/run/secrets/aws_secret}; unset: boto3's default chain"
    )
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        description="more constant dimensions, after check and region (at most 28)",
    )
    storage_resolution: Literal[1, 60] = Field(
        60, description="60: standard resolution; 1: high resolution (billed higher)"
    )
    timeout: Duration = Field(
        timedelta(seconds=10), description="bound on one flush, its retries included"
    )
    retries: int = Field(
        2, ge=0, le=5, description="retries of a throttled or failed call (botocore standard mode)"
    )

    @field_validator("namespace")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.startswith("AWS/"):
            raise ValueError("namespaces starting 'AWS/' are reserved for AWS services")
        return value

    @field_validator("dimensions")
    @classmethod
    def _at_most_28(cls, value: dict[str, str]) -> dict[str, str]:
        # CloudWatch takes 30 dimensions per metric; check and region are ours.
        if len(value) > 28:
            raise ValueError("at most 28 dimensions (CloudWatch takes 30: check, region and 28)")
        return value


class HeartbeatSettings(Strict):
    """A dead-man's switch pinged after every run (healthchecks.io, Dead Man's Snitch ...)."""

    url: SecretStr = Field(description="the ping URL (it usually embeds a token: kept secret)")
    method: Literal["GET", "POST", "HEAD"] = Field("GET", description="HTTP method of the ping")
    timeout: Duration = Field(timedelta(seconds=5), description="bound on one ping")


class TelemetrySettings(Strict):
    """Where results go besides the store; every optional backend is off unless present."""

    prometheus: PrometheusSettings = Field(
        PrometheusSettings(), description="always on: the /metrics registry"
    )
    pushgateway: PushgatewaySettings | None = Field(
        None, description="push the registry after 'run --once'"
    )
    datadog: DatadogSettings | None = Field(None, description="DogStatsD or agentless Datadog")
    otlp: OtlpSettings | None = Field(None, description="OpenTelemetry (OTLP/HTTP) metrics")
    newrelic: NewRelicSettings | None = Field(None, description="New Relic Metric API")
    cloudwatch: CloudWatchSettings | None = Field(
        None, description="Amazon CloudWatch PutMetricData (needs the 'cloudwatch' extra)"
    )
    heartbeat: HeartbeatSettings | None = Field(None, description="ping a URL after each run")
