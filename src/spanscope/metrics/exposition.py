"""Rendering for ``GET /metrics``: Prometheus text 0.0.4 by default, OpenMetrics (with exemplars) on request."""

from __future__ import annotations

from prometheus_client.exposition import choose_encoder

from spanscope.metrics.registry import MetricsRegistry


def render(registry: MetricsRegistry, project: str | None, accept: str | None) -> tuple[bytes, str]:
    """The body and content type for a scrape; ``project`` None shows every project's series.

    A scraper asking for ``application/openmetrics-text`` (Prometheus does by default) gets exemplars: the
    trace and span id of a recent observation in each bucket and counter.
    """
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry.view(project)), content_type
