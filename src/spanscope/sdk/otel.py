"""OpenTelemetry spans into spanscope's model: the SDK half of ``spanscope.otel.SpanProcessor``.

:func:`span_from_otel` turns a finished OTel ``ReadableSpan`` into a :class:`spanscope.model.Span` as it
came (ids as lowercase hex, parent, name, start/end, status and message, attributes flattened to scalars
and lists of scalars, events with exceptions as OTel records them), with what OTLP would carry besides in
the keys the server's OTLP ingest uses: ``otel.span_kind``, ``otel.scope.name``/``.version``,
``resource.<key>`` (``resource.service.name``…), ``otel.trace_state``, ``otel.links`` (and ``otel.link``
events), ``otel.dropped_*_count``. The kind is ``db`` or ``http`` when the core
OTel database or HTTP attributes say so, else ``other``. Mapping foreign conventions (OpenInference,
GenAI semconv, OpenLLMetry…) onto kind, inputs and outputs is the job of ``spanscope.ingest.conventions``,
which the public processor in ``spanscope.otel`` applies next.

This module reads the OTel objects by their documented attributes and imports nothing from
``opentelemetry``: the SDK stays importable without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from spanscope.model.conventions import SpanKind
from spanscope.model.records import Event, Span

__all__ = ["span_from_otel"]

_STATUSES = {"OK": "OK", "ERROR": "ERROR", "UNSET": "UNSET"}


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _value(value: Any) -> Any:
    """An attribute value: scalars stay, sequences become lists of scalars, anything else its str."""
    if isinstance(value, str | bool | int | float | bytes):
        return _scalar(value)
    if isinstance(value, list | tuple):
        return [_scalar(v) for v in value]
    return str(value)


def attributes(values: Mapping[str, Any] | None) -> dict[str, Any]:
    if not values:
        return {}
    out: dict[str, Any] = {}
    for k, v in values.items():
        t = type(v)
        if t is str or t is int or t is bool:
            out[k if type(k) is str else str(k)] = v
        elif v is not None:
            out[str(k)] = _value(v)
    return out


class _Cache:
    """Converted resource and scope attributes, per object: a process has one or a few of each."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[Any, dict[str, Any]]] = {}

    def get(self, obj: Any, build: Any) -> dict[str, Any]:
        hit = self._items.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        if len(self._items) > 64:
            self._items.clear()
        value = build(obj)
        self._items[id(obj)] = (obj, value)  # keeps obj alive, so its id can't be reused meanwhile
        return value


def _resource_attributes(resource: Any) -> dict[str, Any]:
    return {f"resource.{k}": v for k, v in attributes(getattr(resource, "attributes", None)).items()}


def _scope_attributes(scope: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(scope, "name", None):
        out["otel.scope.name"] = str(scope.name)
    if getattr(scope, "version", None):
        out["otel.scope.version"] = str(scope.version)
    return out


_RESOURCES = _Cache()
_SCOPES = _Cache()


def _events(events: Iterable[Any], fallback_ns: int) -> list[Event]:
    out = []
    for e in events or ():
        ts = getattr(e, "timestamp", None)
        out.append(
            Event(
                name=str(getattr(e, "name", "") or "event"),
                time_ns=ts if isinstance(ts, int) and ts >= 0 else fallback_ns,
                attributes=attributes(getattr(e, "attributes", None)),
            )
        )
    return out


def _kind(attrs: Mapping[str, Any]) -> SpanKind:
    """``db`` and ``http`` from the core OTel conventions; LLM conventions are mapped later."""
    if "db.system" in attrs or "db.system.name" in attrs:
        return "db"
    if "http.request.method" in attrs or "http.method" in attrs:
        return "http"
    return "other"


def _links(otel_span: Any, start: int, attrs: dict[str, Any], events: list[Event]) -> None:
    ids = []
    for link in getattr(otel_span, "links", None) or ():
        ctx = link.context
        trace_id, span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
        ids.append(f"{trace_id}:{span_id}")
        at: dict[str, Any] = {"otel.link.trace_id": trace_id, "otel.link.span_id": span_id}
        for k, v in attributes(getattr(link, "attributes", None)).items():
            at.setdefault(k, v)
        events.append(Event(name="otel.link", time_ns=start, attributes=at))
    if ids:
        attrs.setdefault("otel.links", ids)


def span_from_otel(otel_span: Any) -> Span | None:
    """A finished OTel ``ReadableSpan`` as a model span (no convention mapping yet); None if it has no
    valid ids or start time."""
    ctx = otel_span.context
    trace_id, span_id = getattr(ctx, "trace_id", 0), getattr(ctx, "span_id", 0)
    start = otel_span.start_time
    if not trace_id or not span_id or not isinstance(start, int):
        return None
    end = otel_span.end_time if isinstance(otel_span.end_time, int) else start
    end = max(end, start)
    parent = otel_span.parent
    parent_id = getattr(parent, "span_id", 0) if parent is not None else 0

    attrs = attributes(otel_span.attributes)
    events = _events(otel_span.events, end)
    # The same extra keys as the server's OTLP ingest (spanscope.ingest.otlp), so a span looks the same
    # whichever way it came in.
    kind = getattr(getattr(otel_span, "kind", None), "name", None)
    if isinstance(kind, str):
        attrs.setdefault("otel.span_kind", kind.lower())
    scope = getattr(otel_span, "instrumentation_scope", None)
    if scope is not None:
        for key, value in _SCOPES.get(scope, _scope_attributes).items():
            attrs.setdefault(key, value)
    resource = getattr(otel_span, "resource", None)
    if resource is not None:
        for key, value in _RESOURCES.get(resource, _resource_attributes).items():
            attrs.setdefault(key, value)
    trace_state = getattr(ctx, "trace_state", None)
    if trace_state:
        attrs.setdefault("otel.trace_state", trace_state.to_header())
    _links(otel_span, start, attrs, events)
    for key, name in (
        ("otel.dropped_attributes_count", "dropped_attributes"),
        ("otel.dropped_events_count", "dropped_events"),
        ("otel.dropped_links_count", "dropped_links"),
    ):
        count = getattr(otel_span, name, 0)
        if isinstance(count, int) and count:
            attrs.setdefault(key, count)

    status = getattr(otel_span, "status", None)
    code = getattr(getattr(status, "status_code", None), "name", "UNSET")
    message = getattr(status, "description", None)
    return Span(
        trace_id=f"{trace_id:032x}",
        span_id=f"{span_id:016x}",
        parent_span_id=f"{parent_id:016x}" if parent_id else None,
        name=str(otel_span.name or "") or "unnamed",
        kind=_kind(attrs),
        start_time_ns=start,
        end_time_ns=end,
        status=_STATUSES.get(code, "UNSET"),  # type: ignore[arg-type]
        status_message=str(message) if message else None,
        attributes=attrs,
        events=events,
    )
