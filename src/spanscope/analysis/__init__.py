"""Trace analysis, all taking the filter language: latency percentiles, usage (tokens, cost), cohort
comparison, critical paths and correlation. Computed in the server (``POST /api/v1/analysis/...``) and
returned as pandas DataFrames. ``spanscope stats …`` prints the same in a terminal (docs/analysis.md).

>>> import spanscope
>>> spanscope.configure(project="support-bot")
>>> spanscope.analysis.latency(by="span.name")                      # p50/p90/p95/p99, errors per span name
>>> spanscope.analysis.usage(by=["model", "day"])                    # tokens and cost per model per day
>>> cmp = spanscope.analysis.compare("tag.quality_score < 0.5", "tag.quality_score >= 0.8")
>>> cmp.differences.head()                                           # what differs most, with effect sizes
>>> spanscope.analysis.critical_path(filter="trace.duration_ms >= p95")  # the LLM, the SQL or the DB?
>>> spanscope.analysis.correlate("tag.quality_score", "span.attributes.usage.total_tokens")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from spanscope.client import Client

_DAY_ALIASES = {"day": "1d", "hour": "1h", "week": "1w", "minute": "1m"}


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from spanscope.client import _default_client

    return _default_client()


def _split_by(by: str | Sequence[str] | None) -> tuple[list[str], str | None]:
    """Group keys, with ``day``/``hour``/``week`` (or ``bucket=``) turned into a time bucket."""
    keys = [by] if isinstance(by, str) else list(by or [])
    bucket = None
    out = []
    for key in keys:
        if key.strip().lower() in _DAY_ALIASES:
            bucket = _DAY_ALIASES[key.strip().lower()]
        else:
            out.append(key)
    return out, bucket


def table_frame(result: dict[str, Any]) -> pd.DataFrame:
    """A ``{"columns": [...], "rows": [...]}`` answer as a DataFrame (bucket starts as UTC timestamps)."""
    import pandas as pd

    df = pd.DataFrame(result["rows"], columns=result["columns"])
    if "bucket_start_ns" in df.columns:
        df.insert(
            list(df.columns).index("bucket_start_ns"),
            "bucket_start",
            pd.to_datetime(df.pop("bucket_start_ns"), unit="ns", utc=True),
        )
    return df


def latency(
    filter: str | None = None,
    by: str | Sequence[str] = "span.name",
    bucket: str | None = None,
    *,
    client: Client | None = None,
) -> pd.DataFrame:
    """Span count, errors, error rate, p50/p90/p95/p99/mean/max latency (ms) per group.

    ``by``: any span or trace field (``span.name``, ``span.kind``, ``model``, ``span.attributes.<key>``,
    ``tag.<key>``, ``trace.name`` …), several as a list; ``hour``/``day``/``week`` or ``bucket="15m"`` add time
    buckets. The spans measured are those ``search_spans(filter)`` returns.
    """
    keys, day_bucket = _split_by(by)
    body = {"filter": filter, "by": keys, "bucket": bucket or day_bucket}
    return table_frame(_client(client).analysis("latency", body))


def usage(
    filter: str | None = None,
    by: str | Sequence[str] = "model",
    bucket: str | None = None,
    *,
    all_projects: bool = False,
    client: Client | None = None,
) -> pd.DataFrame:
    """Model calls, input/output/total tokens and cost (USD) per group, over the llm/embedding spans.

    ``by``: ``model``, ``project`` (with ``all_projects=True``), ``day``/``hour``/``week``, or any field.
    """
    keys, day_bucket = _split_by(by)
    body = {"filter": filter, "by": keys, "bucket": bucket or day_bucket, "all_projects": all_projects}
    return table_frame(_client(client).analysis("usage", body))


@dataclass
class Comparison:
    """The answer of :func:`compare`: ``cohorts`` (one row per cohort), ``span_names`` (per span name, a and b
    side by side with differences) and ``differences`` (fields ranked by effect size, largest first)."""

    cohorts: pd.DataFrame
    span_names: pd.DataFrame
    differences: pd.DataFrame
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def compare(filter_a: str | None, filter_b: str | None, *, top: int = 20, client: Client | None = None) -> Comparison:
    """What differs between the traces matching ``filter_a`` (cohort a) and ``filter_b`` (cohort b).

    >>> cmp = compare("tag.quality_score < 0.5", "tag.quality_score >= 0.8")
    >>> cmp.span_names[["name", "p95_ms_a", "p95_ms_b", "error_rate_a", "error_rate_b"]]
    >>> cmp.differences[["field", "span_name", "effect", "metric"]]
    """
    import pandas as pd

    raw = _client(client).analysis("compare", {"filter_a": filter_a, "filter_b": filter_b, "top": top})
    cohorts = pd.DataFrame([{"cohort": k, **v} for k, v in raw["cohorts"].items()])
    return Comparison(cohorts, pd.DataFrame(raw["span_names"]), pd.DataFrame(raw["differences"]), raw)


def critical_path(
    trace_id: str | None = None,
    *,
    filter: str | None = None,
    max_traces: int = 2000,
    client: Client | None = None,
) -> pd.DataFrame:
    """With ``trace_id``: that trace's critical path, one row per segment (span, start, end, ms). Otherwise:
    per span name, the time it spends on the critical path over the newest ``max_traces`` traces matching
    ``filter`` (total, mean per trace, share of all critical-path time, traces)."""
    import pandas as pd

    body: dict[str, Any] = {"trace_id": trace_id, "filter": filter, "max_traces": max_traces}
    result = _client(client).analysis("critical_path", body)
    if trace_id is not None:
        return pd.DataFrame(result["segments"])
    df = pd.DataFrame(result["by_name"])
    df.attrs["traces"] = result["traces"]
    return df


def correlate(
    a: str, b: str, filter: str | None = None, *, agg: str = "max", client: Client | None = None
) -> dict[str, Any]:
    """Pearson and Spearman correlation of two numeric fields (``n``, ``pearson``, ``spearman``, means).

    Trace fields pair per trace, span fields per span; a trace field with a span field pairs per trace with
    the span field reduced by ``agg`` (max, min, sum or mean) over the trace's spans.
    """
    return _client(client).analysis("correlate", {"a": a, "b": b, "filter": filter, "agg": agg})


__all__ = ["Comparison", "compare", "correlate", "critical_path", "latency", "table_frame", "usage"]
