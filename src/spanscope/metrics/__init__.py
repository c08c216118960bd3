"""Prometheus metrics derived from ingested spans and findings (``GET /metrics``); see docs/metrics.md.

- :mod:`~spanscope.metrics.names`: metric names, buckets, the attribute keys read (the dashboard contract);
- :mod:`~spanscope.metrics.registry`: :class:`MetricsRegistry`, the ingest listener that keeps the series;
- :mod:`~spanscope.metrics.limits`: bounded label cardinality (top-N values per project, the rest ``other``);
- :mod:`~spanscope.metrics.middleware`: ingest request latency and status codes;
- :mod:`~spanscope.metrics.exposition`: text or OpenMetrics (with trace-id exemplars) by ``Accept``.
"""

from spanscope.metrics.exposition import render
from spanscope.metrics.limits import OTHER, OTHER_PROJECT, LabelLimiter
from spanscope.metrics.middleware import IngestTimingMiddleware
from spanscope.metrics.registry import MetricsConfig, MetricsRegistry

__all__ = [
    "OTHER",
    "OTHER_PROJECT",
    "IngestTimingMiddleware",
    "LabelLimiter",
    "MetricsConfig",
    "MetricsRegistry",
    "render",
]
