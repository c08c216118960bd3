"""Pure data: the records every layer shares, ids and convention names. No I/O here."""

from spanscope.model.conventions import (
    FINDING_SOURCES,
    SPAN_KINDS,
    STATUSES,
    FindingSource,
    SpanKind,
    Status,
)
from spanscope.model.ids import is_span_id, is_trace_id, new_span_id, new_trace_id
from spanscope.model.records import (
    AttributeValue,
    Event,
    Finding,
    FindingValue,
    Span,
    TagValue,
    Trace,
    TraceInfo,
)

__all__ = [
    "FINDING_SOURCES",
    "SPAN_KINDS",
    "STATUSES",
    "AttributeValue",
    "Event",
    "Finding",
    "FindingSource",
    "FindingValue",
    "Span",
    "SpanKind",
    "Status",
    "TagValue",
    "Trace",
    "TraceInfo",
    "is_span_id",
    "is_trace_id",
    "new_span_id",
    "new_trace_id",
]
