"""Builders shared by the translator tests."""

from __future__ import annotations

from typing import Any

from spanscope.ingest.conventions import translate_span
from spanscope.model import Event, Finding, Span, TraceInfo

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"
T0 = 1_700_000_000_000_000_000


def make_span(attrs: dict[str, Any] | None = None, events: list[Event] | None = None, **kw: Any) -> Span:
    return Span(
        trace_id=TID,
        span_id=SID,
        name=kw.pop("name", "op"),
        start_time_ns=T0,
        end_time_ns=T0 + 1_000_000,
        attributes=dict(attrs or {}),
        events=list(events or []),
        **kw,
    )


def translate(
    attrs: dict[str, Any] | None = None, events: list[Event] | None = None, **kw: Any
) -> tuple[Span, list[Finding], TraceInfo | None]:
    return translate_span(make_span(attrs, events, **kw))


def check(span: Span, expected: dict[str, Any]) -> None:
    """Compare ``kind``/``inputs``/``outputs``/``status`` and a subset of attributes (``attrs``)."""
    for field in ("kind", "inputs", "outputs", "status"):
        if field in expected:
            assert getattr(span, field) == expected[field], field
    for key, value in expected.get("attrs", {}).items():
        if value is None:
            assert key not in span.attributes, key
        else:
            assert span.attributes.get(key) == value, key
    assert "spanscope.translate_error" not in span.attributes
