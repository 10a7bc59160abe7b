"""Metric families of one value labelled ``region``: what the runtime's collectors yield."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


def region_counter(name: str, doc: str, labels: list[str], value: float) -> Metric:
    """A counter family ``name`` (``_total`` added on exposition) with one sample."""
    family = CounterMetricFamily(name, doc, labels=["region"])
    family.add_metric(labels, value)
    return family


def region_gauge(name: str, doc: str, labels: list[str], value: float) -> Metric:
    """A gauge family ``name`` with one sample."""
    family = GaugeMetricFamily(name, doc, labels=["region"])
    family.add_metric(labels, value)
    return family
