"""Limits on what one span may carry, and timestamp sanity checks.

Oversized values are *truncated with a marker*, never rejected: a span is worth keeping even if its
80 MB prompt is not. Every truncation is listed in the span attribute ``spanscope.truncated`` (the paths
cut, e.g. ``["inputs", "attributes.db.statement"]``). Markers:

- a string: its first ``max_value_chars`` characters + ``…[truncated by spanscope: N chars]``;
- a list attribute: its first ``max_list_items`` items;
- attributes past ``max_attributes``: dropped, counted in ``spanscope.dropped_attributes``;
- events past ``max_events``: dropped, counted in ``spanscope.dropped_events``;
- ``inputs``/``outputs`` over ``max_payload_bytes`` of JSON: replaced by a JSON string holding the start
  of their JSON text + ``…[truncated by spanscope: N bytes]``.

A timestamp outside [2000-01-01, now + 1 day] is a rejection with a reason (usually seconds, ms or µs
sent where nanoseconds are expected), because a span in 1970 or 2500 would be lost to every time filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from spanscope.model import Span

MIN_TIME_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z
DAY_NS = 86_400 * 10**9
TRUNCATED_KEY = "spanscope.truncated"
DROPPED_ATTRIBUTES_KEY = "spanscope.dropped_attributes"
DROPPED_EVENTS_KEY = "spanscope.dropped_events"


@dataclass(frozen=True, slots=True)
class Limits:
    max_attributes: int = 512
    max_value_chars: int = 16_384
    max_list_items: int = 1_024
    max_events: int = 1_024
    max_name_chars: int = 1_024
    max_payload_bytes: int = 1_048_576


DEFAULT_LIMITS = Limits()


def marker(n: int, unit: str = "chars") -> str:
    return f"…[truncated by spanscope: {n} {unit}]"


def _cut(text: str, limit: int) -> str:
    return text[:limit] + marker(len(text) - limit)


def check_time(start_ns: int, end_ns: int, now_ns: int) -> str | None:
    """Why these timestamps can't be right, or None."""
    for label, t in (("start_time_ns", start_ns), ("end_time_ns", end_ns)):
        if t < MIN_TIME_NS:
            unit = "seconds" if t < 10**11 else "milliseconds" if t < 10**14 else "microseconds"
            return f"{label} {t} is before 2000-01-01; it looks like {unit}, expected nanoseconds since the epoch"
        if t > now_ns + DAY_NS:
            return f"{label} {t} is more than a day in the future"
    return None


def _limit_payload(value: Any, limit: int) -> tuple[Any, bool]:
    if value is None:
        return value, False
    if isinstance(value, msgspec.Raw):
        if len(value) <= limit:
            return value, False
        text = bytes(value)[: limit + 4].decode("utf-8", errors="ignore")
        cut = text[:limit] + marker(len(value) - limit, "bytes")
        return msgspec.Raw(msgspec.json.encode(cut)), True
    encoded = msgspec.json.encode(value)
    if len(encoded) <= limit:
        return value, False
    text = encoded[: limit + 4].decode("utf-8", errors="ignore")
    return text[:limit] + marker(len(encoded) - limit, "bytes"), True


def apply_span_limits(span: Span, limits: Limits = DEFAULT_LIMITS) -> None:
    """Truncate what is over the limits, in place, recording what was cut."""
    cut: list[str] = []
    if len(span.name) > limits.max_name_chars:
        span.name = _cut(span.name, limits.max_name_chars)
        cut.append("name")
    attrs = span.attributes
    if len(attrs) > limits.max_attributes:
        keep = dict(list(attrs.items())[: limits.max_attributes])
        keep[DROPPED_ATTRIBUTES_KEY] = len(attrs) - limits.max_attributes
        span.attributes = attrs = keep
    for key, value in attrs.items():
        if isinstance(value, str):
            if len(value) > limits.max_value_chars:
                attrs[key] = _cut(value, limits.max_value_chars)
                cut.append(f"attributes.{key}")
        elif isinstance(value, list):
            if len(value) > limits.max_list_items:
                value = value[: limits.max_list_items]
                cut.append(f"attributes.{key}")
            attrs[key] = [
                _cut(v, limits.max_value_chars) if isinstance(v, str) and len(v) > limits.max_value_chars else v
                for v in value
            ]
    for field_name in ("inputs", "outputs"):
        value, was_cut = _limit_payload(getattr(span, field_name), limits.max_payload_bytes)
        if was_cut:
            setattr(span, field_name, value)
            cut.append(field_name)
    if len(span.events) > limits.max_events:
        attrs[DROPPED_EVENTS_KEY] = len(span.events) - limits.max_events
        span.events = span.events[: limits.max_events]
    if span.status_message and len(span.status_message) > limits.max_value_chars:
        span.status_message = _cut(span.status_message, limits.max_value_chars)
        cut.append("status_message")
    if cut:
        attrs[TRUNCATED_KEY] = cut
