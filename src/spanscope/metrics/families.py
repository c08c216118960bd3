"""In-memory metric families: counters and histograms keyed by label tuples, with exemplars.

prometheus-client's own ``Counter``/``Histogram`` keep one child per label set forever and can't answer
"only this project's series"; these keep plain dicts (updated under the registry's lock) and render into
prometheus-client ``*MetricFamily`` objects at scrape time, filtered by project. Exposition (text 0.0.4 or
OpenMetrics with exemplars) is prometheus-client's.

By convention the first label of a per-project family is ``project``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Exemplar

Key = tuple[str, ...]
# (exemplar labels, observed value, unix seconds or None)
ExemplarData = tuple[dict[str, str], float, float | None]


def _exemplar(data: ExemplarData | None) -> Exemplar | None:
    return None if data is None else Exemplar(data[0], data[1], data[2])


def _project_ok(key: Key, project: str | None, per_project: bool) -> bool:
    return project is None or not per_project or key[0] == project


def _float_str(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class CounterFamily:
    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        # ``name`` without ``_total``: prometheus-client adds it (and ``_created`` in OpenMetrics).
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.per_project = bool(labels) and labels[0] == "project"
        self.values: dict[Key, float] = {}
        self.exemplars: dict[Key, ExemplarData] = {}

    def inc(self, key: Key, amount: float = 1.0, exemplar: ExemplarData | None = None) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount
        if exemplar is not None:
            self.exemplars[key] = exemplar

    def render(self, project: str | None) -> Metric:
        fam = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, value in self.values.items():
            if _project_ok(key, project, self.per_project):
                fam.add_metric(key, value, exemplar=_exemplar(self.exemplars.get(key)))
        return fam


class GaugeFamily:
    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.per_project = bool(labels) and labels[0] == "project"
        self.values: dict[Key, float] = {}

    def set(self, key: Key, value: float) -> None:
        self.values[key] = value

    def render(self, project: str | None) -> Metric:
        fam = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, value in self.values.items():
            if _project_ok(key, project, self.per_project):
                fam.add_metric(key, value)
        return fam


class _Hist:
    __slots__ = ("counts", "exemplars", "sum")

    def __init__(self, n: int) -> None:
        self.counts = [0] * n  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0
        self.exemplars: list[ExemplarData | None] = [None] * n


class HistogramFamily:
    def __init__(self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.per_project = bool(labels) and labels[0] == "project"
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self.bounds = bounds
        self._le = [_float_str(b) for b in bounds]
        self.series: dict[Key, _Hist] = {}

    def observe(self, key: Key, value: float, exemplar: ExemplarData | None = None) -> None:
        h = self.series.get(key)
        if h is None:
            h = self.series[key] = _Hist(len(self.bounds))
        i = bisect_left(self.bounds, value)  # first bound >= value: the bucket "le" bound
        h.counts[i] += 1
        h.sum += value
        if exemplar is not None:
            h.exemplars[i] = exemplar

    def render(self, project: str | None) -> Metric:
        fam = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, h in self.series.items():
            if not _project_ok(key, project, self.per_project):
                continue
            buckets: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
            running = 0
            for le, count, ex in zip(self._le, h.counts, h.exemplars, strict=True):
                running += count
                exemplar = _exemplar(ex)
                buckets.append((le, running, exemplar) if exemplar is not None else (le, running))
            fam.add_metric(key, buckets, h.sum)
        return fam


Family = CounterFamily | GaugeFamily | HistogramFamily
