"""A registry rendered as Prometheus text or OpenMetrics 1.0.0, byte for byte as
``prometheus_client`` renders it, at a fraction of its cost per line.

``prometheus_client``'s ``generate_latest`` validates, escapes and sorts every label of
every sample and formats every value on its own: with thousands of checks (50,000
lines) that is seconds of CPU per scrape.  Here a label set is formatted once per
render (a check's labels recur on each of its ~15 families) and a value once per
distinct value; metric and label names are checked once each.

A family this fast path does not cover (exemplars, native histograms, sample
timestamps, names outside the legacy character set) is rendered by
``prometheus_client`` itself, so the output never differs from it.

A collector that keeps its families' sample lines between renders (only what changed
is formatted again: ``monitor.telemetry.prometheus``) hands them over as a
:class:`RenderedFamily`: its ``body`` is printed after the family's header as it is.
:class:`SampleLines` makes such a body, the same bytes both formats print.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
# The text format moves these OpenMetrics samples into gauges of their own at a
# family's end (prometheus_client does; Prometheus reads them so).
_TEXT_SPLIT: Final = ("_created", "_gsum", "_gcount")
_TEXT_TYPES: Final = {
    "info": "gauge",
    "stateset": "gauge",
    "gaugehistogram": "histogram",
    "unknown": "untyped",
}
EOF: Final = "# EOF\n"


class RenderedFamily(Metric):
    """A family whose sample lines may come already rendered (by :class:`SampleLines`).

    ``body`` is what both formats print after the family's header, or ``None`` when the
    lines could not be kept (then the samples are rendered as any family's).  Both are
    made only when read: ``samples`` only when something else reads them (a Pushgateway
    push, ``registry.get_sample_value``); they may be newer than ``body``, never older.
    """

    def __init__(
        self, name: str, documentation: str, typ: str,
        make_body: Callable[[], str | None], make_samples: Callable[[], list[Sample]],
    ) -> None:  # fmt: skip
        super().__init__(name, documentation, typ)
        self._make_body = make_body
        self._make_samples = make_samples
        self._samples: list[Sample] | None = None

    @property
    def body(self) -> str | None:
        return self._make_body()

    @property  # lazy: made when first read
    def samples(self) -> list[Sample]:
        if self._samples is None:
            self._samples = self._make_samples()
        return self._samples

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        self._samples = value or None  # Metric.__init__ sets []: still to be made


class SampleLines:
    """Families' sample lines as both formats print them, label sets formatted once.

    Kept between renders, it formats a label set seen before (a check's labels with its
    buckets, results and phases recur at every render) from its memo; :meth:`bound`,
    called before each render, forgets the values, and everything once the memo holds
    more than a given number of label sets (of checks since removed).
    """

    def __init__(self) -> None:
        self._memo = _Memo()

    @property
    def remembered(self) -> int:
        """Label sets whose text is kept."""
        return len(self._memo.labels)

    def bound(self, label_sets: int) -> None:
        """Start afresh if more than ``label_sets`` label sets are remembered; forget the
        values in any case (they change from run to run: kept, they would only pile up)."""
        if len(self._memo.labels) > label_sets:
            self._memo = _Memo()
        else:
            self._memo.values = {}

    def family(self, metric: Metric) -> str | None:
        """The sample lines of ``metric``; ``None`` for one only ``prometheus_client``
        renders, or whose lines the two formats print differently."""
        name, memo, out = metric.name, self._memo, []
        family = memo.families.get(name)
        if family is None:
            ok = bool(_METRIC_NAME.match(name)) and ":" not in name
            family = memo.families[name] = (ok, frozenset(name + s for s in _TEXT_SPLIT))
        ok, moved = family
        if not ok:
            return None
        names = memo.names
        for s in metric.samples:
            line = _line(s, memo)
            if line is None or s.name in moved:
                return None
            if s.name != name:
                good = names.get(s.name)
                if good is None:
                    good = bool(_METRIC_NAME.match(s.name) and _LABEL_NAME.match(s.name))
                    names[s.name] = good
                if not good:
                    return None
            out.append(line)
        return "".join(out)


class _One:
    """One metric family as a collector, for prometheus_client's renderers."""

    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> Iterable[Metric]:
        return [self._metric]


class _Memo:
    """What one render formats once: label sets, values, checked names."""

    def __init__(self) -> None:
        self.labels: dict[tuple[tuple[str, str], ...], str] = {}
        self.pairs: dict[tuple[str, str], str] = {}  # (name, value) -> 'name="value"'
        self.values: dict[float, str] = {}
        # SampleLines: a family name -> (whether it is printable so, its moved sample names);
        # a sample name -> whether it is a legal metric and label name.
        self.families: dict[str, tuple[bool, frozenset[str]]] = {}
        self.names: dict[str, bool] = {}

    def labelstr(self, labels: dict[str, str]) -> str | None:
        """``{name="value",...}`` sorted by name; ``None`` for a name outside the legacy set."""
        key = tuple(labels.items())
        found = self.labels.get(key)
        if found is None:
            pairs = self.pairs
            parts = []
            for pair in sorted(key):
                part = pairs.get(pair)
                if part is None:
                    if not _LABEL_NAME.match(pair[0]):
                        return None
                    part = pairs[pair] = f'{pair[0]}="{_escape(pair[1])}"'
                parts.append(part)
            found = self.labels[key] = "{" + ",".join(parts) + "}" if parts else ""
        return found

    def value(self, value: float) -> str:
        if not value:  # 0.0 and -0.0 are equal keys but render apart
            return floatToGoString(value)  # type: ignore[no-any-return,no-untyped-call]  # unannotated upstream
        found = self.values.get(value)
        if found is None:
            found = self.values[value] = floatToGoString(value)  # type: ignore[no-untyped-call]
        return found


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _line(sample: Sample, memo: _Memo) -> str | None:
    """``name{labels} value``; ``None`` for what only prometheus_client renders."""
    if (
        sample.exemplar is not None
        or sample.native_histogram is not None
        or sample.timestamp is not None
        or sample.value is None
    ):
        return None
    labelstr = memo.labelstr(sample.labels)
    if labelstr is None:
        return None
    return f"{sample.name}{labelstr} {memo.value(sample.value)}\n"


def _text_family(metric: Metric, memo: _Memo) -> list[str] | None:
    name, mtype = metric.name, metric.type
    if not _METRIC_NAME.match(name):
        return None
    if mtype == "counter":
        shown = name + "_total"
    elif mtype == "info":
        shown = name + "_info"
    else:
        shown = name
    doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
    lines = [f"# HELP {shown} {doc}\n# TYPE {shown} {_TEXT_TYPES.get(mtype, mtype)}\n"]
    if isinstance(metric, RenderedFamily) and (body := metric.body) is not None:
        lines.append(body)
        return lines
    split = {name + suffix: suffix for suffix in _TEXT_SPLIT}
    moved: dict[str, list[str]] = {}
    for s in metric.samples:
        line = _line(s, memo)
        if line is None or (s.name != name and not _METRIC_NAME.match(s.name)):
            return None
        suffix = split.get(s.name)
        if suffix is None:
            lines.append(line)
        else:
            moved.setdefault(suffix, []).append(line)
    for suffix, moved_lines in sorted(moved.items()):
        lines.append(f"# HELP {name}{suffix} {doc}\n# TYPE {name}{suffix} gauge\n")
        lines.extend(moved_lines)
    return lines


def _openmetrics_family(metric: Metric, memo: _Memo) -> list[str] | None:
    name = metric.name
    # OpenMetrics escapes sample names as label names: a ':' would change.
    if not _METRIC_NAME.match(name) or ":" in name:
        return None
    doc = _escape(metric.documentation)
    lines = [f"# HELP {name} {doc}\n# TYPE {name} {metric.type}\n"]
    if metric.unit:
        lines.append(f"# UNIT {name} {metric.unit}\n")
    if isinstance(metric, RenderedFamily) and (body := metric.body) is not None:
        lines.append(body)
        return lines
    for s in metric.samples:
        line = _line(s, memo)
        if line is None or (s.name != name and not _LABEL_NAME.match(s.name)):
            return None
        lines.append(line)
    return lines


def render_text(registry: Collector) -> bytes:
    """``prometheus_client.generate_latest(registry)``, the same bytes, faster."""
    memo, out = _Memo(), list[str]()
    for metric in registry.collect():
        lines = _text_family(metric, memo)
        if lines is None:
            out.append(generate_latest(_One(metric)).decode())
        else:
            out.extend(lines)
    return "".join(out).encode()


def render_openmetrics(registry: Collector) -> bytes:
    """``prometheus_client.openmetrics.exposition.generate_latest(registry)``, the same
    bytes, faster."""
    memo, out = _Memo(), list[str]()
    for metric in registry.collect():
        lines = _openmetrics_family(metric, memo)
        if lines is None:
            fallback: bytes = openmetrics.generate_latest(_One(metric))  # type: ignore[no-untyped-call]  # unannotated upstream
            out.append(fallback.decode().removesuffix(EOF))
        else:
            out.extend(lines)
    out.append(EOF)
    return "".join(out).encode()
