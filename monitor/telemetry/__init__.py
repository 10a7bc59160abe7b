"""Telemetry: Prometheus, Pushgateway, Datadog, OTLP, New Relic, CloudWatch and a heartbeat.

All of it owned by a Runtime.

Import from the modules; nothing is re-exported here:

* :mod:`monitor.telemetry.settings`: ``TelemetrySettings`` (the ``telemetry:`` section);
* :mod:`monitor.telemetry.hub`: ``build_telemetry``, ``Telemetry``, ``EXPORTERS``,
  ``run_interval``;
* :mod:`monitor.telemetry.base`: the ``Exporter`` protocol and ``ExportContext``;
* :mod:`monitor.telemetry.exposition`: ``negotiate`` (``/metrics``: text or OpenMetrics);
* :mod:`monitor.telemetry.pushgateway`: ``PushOutcome``.
"""

# The config's root model holds TelemetrySettings, and the settings build on the
# config's base models: load the config package first, whichever side is imported
# first, so each finds the other complete (importing a package half-way is fine).
import monitor.config  # noqa: F401 -- imported for its side effect, see above
