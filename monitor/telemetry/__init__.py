"""Telemetry: Prometheus, Pushgateway, Datadog, OTLP, New Relic, CloudWatch and a heartbeat.

All of it owned by a Runtime.

Import from the modules; nothing is re-exported here:

* :mod:`monitor.config.telemetry`: ``TelemetrySettings`` (the ``telemetry:`` section);
* :mod:`monitor.telemetry.hub`: ``build_telemetry``, ``Telemetry``, ``EXPORTERS``,
  ``run_interval``;
* :mod:`monitor.telemetry.base`: the ``Exporter`` protocol and ``ExportContext``;
* :mod:`monitor.telemetry.exposition`: ``negotiate`` (``/metrics``: text or OpenMetrics);
* :mod:`monitor.telemetry.pushgateway`: ``PushOutcome``.
"""
