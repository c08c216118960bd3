"""Shared test data builders."""

from __future__ import annotations


def make_span(
    trace_id: str,
    span_id: str,
    name: str = "op",
    parent: str | None = None,
    start_ms: int = 0,
    dur_ms: float = 10,
    **extra: object,
) -> dict[str, object]:
    base = 1_700_000_000_000_000_000 + start_ms * 1_000_000
    out: dict[str, object] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_time_ns": base,
        "end_time_ns": base + int(dur_ms * 1_000_000),
    }
    out.update(extra)
    return out


def tid(n: int) -> str:
    return f"{n:032x}"


def sid(n: int) -> str:
    return f"{n:016x}"


def filter_literal(value: object) -> str:
    """``value`` as a literal of the filter language: ``'it''s'``, ``true``, ``2.5``."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value).lower() if isinstance(value, bool) else repr(value)
