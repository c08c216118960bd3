"""Decode OTLP/HTTP trace exports (``ExportTraceServiceRequest``, protobuf or OTLP/JSON) into model objects.

    decoded = decode_otlp_traces(body, "protobuf")       # or "json"
    for resource_project, batch in decoded.batches.items(): ...
    encode_export_response(decoded, "protobuf")           # the ExportTraceServiceResponse bytes

Spans are validated one by one: a bad span (wrong id length, an all-zero id, end before start, a time out of
range, a malformed field in OTLP/JSON) becomes a :class:`~spanscope.ingest.native.Rejection` with its 0-based
position among all spans of the request and the reason, and the other spans are kept; the response then
carries ``partial_success`` (``rejected_spans`` + ``error_message``) as the OTLP spec asks. Every kept span
goes through :func:`~spanscope.ingest.conventions.translate_span`.

What OTLP carries beyond the model's fields lands in attributes (see ``docs/otlp.md``):

=================================== =============================================================
``resource.<key>``                  every resource attribute (``resource.service.name``…)
``otel.scope.name`` / ``.version``  the instrumentation scope; its attributes as ``otel.scope.attributes.<key>``
``otel.span_kind``                  ``internal`` | ``server`` | ``client`` | ``producer`` | ``consumer``
``otel.trace_state``                the W3C ``tracestate``, when not empty
``otel.links``                      links as a list of ``"<trace_id>:<span_id>"``; each link is also an event
                                    ``otel.link`` (at the span's start) with ``otel.link.trace_id``,
                                    ``otel.link.span_id``, ``otel.link.trace_state`` and the link's attributes
``otel.dropped_*_count``            the sender's dropped attributes / events / links counts, when not 0
=================================== =============================================================

Attribute values: strings, booleans, integers and doubles stay typed (non-finite doubles become the strings
``NaN``, ``Infinity``, ``-Infinity``); arrays of scalars stay lists; maps (``kvlistValue``), nested arrays and
empty values inside arrays become JSON text; bytes become base64 text; an attribute with an empty value is
left out. The resource attribute ``spanscope.project`` names the project of that resource's spans.

Exceptions::

    IngestError (ValueError, from ingest.native)   the body can't be decoded at all -> HTTP 400
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from spanscope.ingest.conventions import translate_span
from spanscope.ingest.limits import apply_span_limits
from spanscope.ingest.native import IngestBatch, IngestError, Rejection
from spanscope.model import Event, Span, TraceInfo

PROTOBUF = "protobuf"
JSON = "json"
CONTENT_TYPES: dict[str, str] = {
    "application/x-protobuf": PROTOBUF,
    "application/protobuf": PROTOBUF,
    "application/json": JSON,
}
PROJECT_ATTRIBUTE = "spanscope.project"
UNNAMED_SPAN = "<unnamed>"

_MAX_NS = 2**63 - 1  # the store keeps times as BIGINT
_MAX_DEPTH = 32  # nesting of array / kvlist attribute values
_SPAN_KINDS = (None, "internal", "server", "client", "producer", "consumer")
_SPAN_KIND_NAMES = {f"SPAN_KIND_{k.upper()}": i for i, k in enumerate(_SPAN_KINDS) if k} | {"SPAN_KIND_UNSPECIFIED": 0}
_STATUSES = ("UNSET", "OK", "ERROR")
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_REASONS_SHOWN = 5
_PB_PATH = "resource_spans[{}].scope_spans[{}].spans[{}]"
_JSON_PATH = "resourceSpans[{}].scopeSpans[{}].spans[{}]"

# google.rpc.Code values used in error bodies
RPC_INVALID_ARGUMENT = 3
RPC_RESOURCE_EXHAUSTED = 8
RPC_UNAVAILABLE = 14


def format_of(content_type: str | None) -> str | None:
    """``"protobuf"`` / ``"json"`` for a ``Content-Type`` header (parameters ignored), else None."""
    if not content_type:
        return None
    return CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())


@dataclass(slots=True)
class OtlpDecoded:
    """A decoded request: accepted items grouped by the resource's ``spanscope.project`` (None when unset)."""

    batches: dict[str | None, IngestBatch] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    span_count: int = 0

    @property
    def accepted_spans(self) -> int:
        return sum(len(b.spans) for b in self.batches.values())

    def error_message(self) -> str:
        """The ``partial_success.error_message``: how many spans were rejected and the first reasons."""
        n = len(self.rejected)
        if not n:
            return ""
        reasons = "; ".join(f"span {r.index} {r.reason}" for r in self.rejected[:_REASONS_SHOWN])
        more = f"; and {n - _REASONS_SHOWN} more" if n > _REASONS_SHOWN else ""
        return f"{n} of {self.span_count} spans rejected: {reasons}{more}"


class _SpanError(ValueError):
    """One span is invalid; it becomes a Rejection."""


# ---------------------------------------------------------------------------------------------- shared
def _check_times(start: int, end: int) -> None:
    if start <= 0:
        raise _SpanError("start_time_unix_nano is missing (0)")
    if start > _MAX_NS or end > _MAX_NS:
        raise _SpanError("start/end time is out of range (after year 2262)")
    if end < start:
        raise _SpanError(f"end_time_unix_nano {end} is before start_time_unix_nano {start}")


def _attribute(value: Any) -> Any:
    """A decoded AnyValue -> an attribute value of the model (see the module docstring)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        if all(isinstance(v, str | bool | int) or (isinstance(v, float) and math.isfinite(v)) for v in value):
            return value
        return msgspec.json.encode(value).decode()
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    return value


def _prefixed(prefix: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {prefix + k: v for k, v in attrs.items()}


def _scope_attrs(name: str, version: str, attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["otel.scope.name"] = name
    if version:
        out["otel.scope.version"] = version
    out.update(_prefixed("otel.scope.attributes.", attrs))
    return out


def _link_event(start: int, trace_id: str, span_id: str, trace_state: str, attrs: dict[str, Any]) -> Event:
    at: dict[str, Any] = {"otel.link.trace_id": trace_id, "otel.link.span_id": span_id}
    if trace_state:
        at["otel.link.trace_state"] = trace_state
    for k, v in attrs.items():
        at.setdefault(k, v)
    return Event(name="otel.link", time_ns=start, attributes=at)


def _finish_span(
    *,
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    kind: int,
    start: int,
    end: int,
    attrs: dict[str, Any],
    events: list[Event],
    links: list[tuple[str, str, str, dict[str, Any]]],
    status: int,
    status_message: str,
    trace_state: str,
    dropped: tuple[int, int, int],
) -> Span:
    if parent == span_id:
        raise _SpanError("parent_span_id equals span_id")
    if 0 < kind < len(_SPAN_KINDS):
        attrs.setdefault("otel.span_kind", _SPAN_KINDS[kind])
    if trace_state:
        attrs.setdefault("otel.trace_state", trace_state)
    if links:
        attrs.setdefault("otel.links", [f"{t}:{s}" for t, s, _, _ in links])
        events.extend(_link_event(start, t, s, ts, la) for t, s, ts, la in links)
    if any(dropped):
        for key, count in zip(
            ("otel.dropped_attributes_count", "otel.dropped_events_count", "otel.dropped_links_count"),
            dropped,
            strict=True,
        ):
            if count:
                attrs.setdefault(key, count)
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name or UNNAMED_SPAN,
        start_time_ns=start,
        end_time_ns=end,
        status=_STATUSES[status] if 0 <= status < len(_STATUSES) else "UNSET",  # type: ignore[arg-type]
        status_message=status_message or None,
        attributes=attrs,
        events=events,
    )


class _Collector:
    """Accumulates translated spans per project and rejections, in request order."""

    def __init__(self) -> None:
        self.out = OtlpDecoded()
        self._infos: dict[str | None, dict[str, TraceInfo]] = {}

    def add(
        self,
        project: str | None,
        where: tuple[str, int, int, int],
        build: Callable[[Any], Span],
        item: Any,
        context: dict[str, Any],
    ) -> None:
        """Build one span (a failure is a rejection), translate it, then add the resource and scope keys.

        The resource/scope keys come after translation: no translator reads them, and fewer keys make
        translation cheaper. A span's own attribute of the same name wins.
        """
        index = self.out.span_count
        self.out.span_count += 1
        try:
            span = build(item)
        except ValueError as exc:  # _SpanError, or the model's own checks (Span.__post_init__)
            path = where[0].format(*where[1:])  # formatted only when needed: this runs for every span
            self.out.rejected.append(Rejection("span", index, f"({path}): {exc}"))
            return
        span, findings, info = translate_span(span)
        attrs = span.attributes
        for k, v in context.items():
            attrs.setdefault(k, v)
        apply_span_limits(span)  # same limits as native ingest: oversized values cut with a marker
        batch = self.out.batches.get(project)
        if batch is None:
            batch = self.out.batches[project] = IngestBatch()
        batch.spans.append(span)
        batch.findings.extend(findings)
        if info is not None:
            infos = self._infos.setdefault(project, {})
            old = infos.get(info.trace_id)
            if old is None:
                infos[info.trace_id] = info
            else:
                _merge_info(old, info)

    def result(self) -> OtlpDecoded:
        for project, infos in self._infos.items():
            self.out.batches[project].traces.extend(infos.values())
        return self.out


def _merge_info(old: TraceInfo, new: TraceInfo) -> None:
    """Merge ``new`` into ``old`` in place (both were made for this request); what ``old`` has wins."""
    for k, v in new.tags.items():
        old.tags.setdefault(k, v)
    for k, v in new.metadata.items():
        old.metadata.setdefault(k, v)
    old.session_id = old.session_id or new.session_id
    old.user_id = old.user_id or new.user_id


def _project_of(resource_attrs: dict[str, Any]) -> str | None:
    project = resource_attrs.get(PROJECT_ATTRIBUTE)
    return project if isinstance(project, str) and project else None


# ---------------------------------------------------------------------------------------------- protobuf
def _pb_value(v: Any, depth: int = 0) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if depth >= _MAX_DEPTH:
        raise _SpanError(f"attribute value nested deeper than {_MAX_DEPTH} levels")
    if which == "array_value":
        return [_pb_value(x, depth + 1) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return None


def _pb_attrs(kvs: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        # the common scalar cases inline: this loop runs for every attribute of every span. A non-empty
        # string_value means the oneof holds a string (one call fewer than asking WhichOneof first).
        s = v.string_value
        if s:
            out[kv.key] = s
            continue
        which = v.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = s
        elif which == "int_value":
            out[kv.key] = v.int_value
        elif which == "bool_value":
            out[kv.key] = v.bool_value
        elif which is not None:
            value = _pb_value(v)
            if value is not None:
                out[kv.key] = _attribute(value)
    return out


def _pb_id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise _SpanError(f"{what} must be {size} bytes, got {len(raw)}")
    if not any(raw):
        raise _SpanError(f"{what} is all zeros")
    return raw.hex()


def _pb_span(sp: Any) -> Span:
    trace_id = _pb_id(sp.trace_id, 16, "trace_id")
    span_id = _pb_id(sp.span_id, 8, "span_id")
    parent = None
    if sp.parent_span_id:
        raw = sp.parent_span_id
        if len(raw) != 8:
            raise _SpanError(f"parent_span_id must be 8 bytes or empty, got {len(raw)}")
        parent = raw.hex() if any(raw) else None
    start, end = sp.start_time_unix_nano, sp.end_time_unix_nano
    _check_times(start, end)
    events = []
    for e in sp.events:
        if e.time_unix_nano > _MAX_NS:
            raise _SpanError("event time_unix_nano is out of range")
        events.append(Event(name=e.name, time_ns=e.time_unix_nano, attributes=_pb_attrs(e.attributes)))
    links = [(ln.trace_id.hex(), ln.span_id.hex(), ln.trace_state, _pb_attrs(ln.attributes)) for ln in sp.links]
    return _finish_span(
        trace_id=trace_id,
        span_id=span_id,
        parent=parent,
        name=sp.name,
        kind=sp.kind,
        start=start,
        end=end,
        attrs=_pb_attrs(sp.attributes),
        events=events,
        links=links,
        status=sp.status.code,
        status_message=sp.status.message,
        trace_state=sp.trace_state,
        dropped=(sp.dropped_attributes_count, sp.dropped_events_count, sp.dropped_links_count),
    )


def _decode_protobuf(body: bytes) -> OtlpDecoded:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    try:
        req = ExportTraceServiceRequest.FromString(body)
    except Exception as exc:  # noqa: BLE001 - upb raises DecodeError, but any parse failure is the same 400
        raise IngestError(f"body is not a valid protobuf ExportTraceServiceRequest: {exc}") from None
    col = _Collector()
    for i, rs in enumerate(req.resource_spans):
        try:
            res_attrs = _pb_attrs(rs.resource.attributes)
        except _SpanError as exc:
            raise IngestError(f"resource_spans[{i}].resource: {exc}") from None
        project = _project_of(res_attrs)
        res_prefixed = _prefixed("resource.", res_attrs)
        for j, ss in enumerate(rs.scope_spans):
            try:
                scope_attrs = _pb_attrs(ss.scope.attributes)
            except _SpanError as exc:
                raise IngestError(f"resource_spans[{i}].scope_spans[{j}].scope: {exc}") from None
            context = {**_scope_attrs(ss.scope.name, ss.scope.version, scope_attrs), **res_prefixed}
            for k, sp in enumerate(ss.spans):
                col.add(project, (_PB_PATH, i, j, k), _pb_span, sp, context)
    return col.result()


# ---------------------------------------------------------------------------------------------- OTLP/JSON
def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _json_uint(value: Any, what: str, maximum: int = _MAX_NS) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        n = int(value)
    else:
        raise _SpanError(f"{what} must be a non-negative integer or a decimal string, got {value!r:.40}")
    if n < 0 or n > maximum:
        raise _SpanError(f"{what} is out of range")
    return n


def _json_int64(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str):
        s = value[1:] if value[:1] == "-" else value
        if not (s.isascii() and s.isdigit() and len(s) <= 19):
            raise _SpanError(f"intValue must be an integer or a decimal string, got {value!r:.40}")
        n = int(value)
    else:
        raise _SpanError(f"intValue must be an integer or a decimal string, got {value!r:.40}")
    if not -(2**63) <= n < 2**63:
        raise _SpanError("intValue is out of the int64 range")
    return n


_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _json_double(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value in _SPECIAL_DOUBLES:
            return _SPECIAL_DOUBLES[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise _SpanError(f"doubleValue must be a number, got {value!r:.40}")


def _json_value(v: Any, depth: int = 0) -> Any:
    if not isinstance(v, dict):
        raise _SpanError(f"attribute value must be an AnyValue object, got {type(v).__name__}")
    if (s := _get(v, "stringValue", "string_value")) is not None:
        if not isinstance(s, str):
            raise _SpanError("stringValue must be a string")
        return s
    if (b := _get(v, "boolValue", "bool_value")) is not None:
        if not isinstance(b, bool):
            raise _SpanError("boolValue must be true or false")
        return b
    if (n := _get(v, "intValue", "int_value")) is not None:
        return _json_int64(n)
    if (d := _get(v, "doubleValue", "double_value")) is not None:
        return _json_double(d)
    if depth >= _MAX_DEPTH:
        raise _SpanError(f"attribute value nested deeper than {_MAX_DEPTH} levels")
    if (arr := _get(v, "arrayValue", "array_value")) is not None:
        values = arr.get("values") if isinstance(arr, dict) else None
        if not isinstance(values, list | None):
            raise _SpanError("arrayValue.values must be a list")
        return [_json_value(x, depth + 1) for x in values or ()]
    if (kvl := _get(v, "kvlistValue", "kvlist_value")) is not None:
        values = kvl.get("values") if isinstance(kvl, dict) else None
        if not isinstance(values, list | None):
            raise _SpanError("kvlistValue.values must be a list")
        return _json_kvs(values or (), depth + 1, keep_empty=True)
    if (raw := _get(v, "bytesValue", "bytes_value")) is not None:
        if not isinstance(raw, str):
            raise _SpanError("bytesValue must be a base64 string")
        try:
            base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _SpanError("bytesValue is not valid base64") from None
        return raw
    return None


def _json_kvs(items: Any, depth: int = 0, keep_empty: bool = False) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list | tuple):
        raise _SpanError("attributes must be a list of {key, value}")
    out: dict[str, Any] = {}
    for kv in items:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise _SpanError("each attribute must be an object with a string 'key'")
        value = _json_value(kv["value"], depth) if kv.get("value") is not None else None
        if value is not None or keep_empty:
            out[kv["key"]] = value
    return out


def _json_attrs(items: Any) -> dict[str, Any]:
    return {k: _attribute(v) for k, v in _json_kvs(items).items()}


def _json_id(value: Any, size: int, what: str, *, optional: bool = False) -> str | None:
    if value is None or value == "":
        if optional:
            return None
        raise _SpanError(f"{what} is missing")
    if not isinstance(value, str):
        raise _SpanError(f"{what} must be a hex string")
    raw: bytes | None = None
    if len(value) == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
    elif len(value) == 4 * ((size + 2) // 3):
        # The OTLP spec says hex; some senders use protobuf's default JSON mapping (base64). Lengths differ.
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != size:
        raise _SpanError(f"{what} must be {2 * size} hex digits, got {value!r:.40}")
    if not any(raw):
        if optional:
            return None
        raise _SpanError(f"{what} is all zeros")
    return raw.hex()


def _json_enum(value: Any, names: dict[str, int], what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value in names:
        return names[value]
    raise _SpanError(f"{what} must be an integer or an enum name, got {value!r:.40}")


def _json_str(obj: dict[str, Any], camel: str, snake: str, what: str) -> str:
    value = _get(obj, camel, snake)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _SpanError(f"{what} must be a string")
    return value


def _json_list(obj: dict[str, Any], camel: str, snake: str, what: str) -> list[Any]:
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _SpanError(f"{what} must be a list")
    return value


def _json_span(sp: Any) -> Span:
    if not isinstance(sp, dict):
        raise _SpanError(f"span must be an object, got {type(sp).__name__}")
    trace_id = _json_id(_get(sp, "traceId", "trace_id"), 16, "traceId")
    span_id = _json_id(_get(sp, "spanId", "span_id"), 8, "spanId")
    parent = _json_id(_get(sp, "parentSpanId", "parent_span_id"), 8, "parentSpanId", optional=True)
    start = _json_uint(_get(sp, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
    end = _json_uint(_get(sp, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    _check_times(start, end)
    events = []
    for e in _json_list(sp, "events", "events", "events"):
        if not isinstance(e, dict):
            raise _SpanError("each event must be an object")
        events.append(
            Event(
                name=_json_str(e, "name", "name", "event name"),
                time_ns=_json_uint(_get(e, "timeUnixNano", "time_unix_nano"), "event timeUnixNano"),
                attributes=_json_attrs(e.get("attributes")),
            )
        )
    links = []
    for ln in _json_list(sp, "links", "links", "links"):
        if not isinstance(ln, dict):
            raise _SpanError("each link must be an object")
        links.append(
            (
                _json_id(_get(ln, "traceId", "trace_id"), 16, "link traceId", optional=True) or "",
                _json_id(_get(ln, "spanId", "span_id"), 8, "link spanId", optional=True) or "",
                _json_str(ln, "traceState", "trace_state", "link traceState"),
                _json_attrs(ln.get("attributes")),
            )
        )
    status = sp.get("status")
    if status is None:
        status = {}
    if not isinstance(status, dict):
        raise _SpanError("status must be an object")
    dropped = tuple(
        _json_uint(_get(sp, camel, snake), camel, 2**32 - 1)
        for camel, snake in (
            ("droppedAttributesCount", "dropped_attributes_count"),
            ("droppedEventsCount", "dropped_events_count"),
            ("droppedLinksCount", "dropped_links_count"),
        )
    )
    return _finish_span(
        trace_id=trace_id,  # type: ignore[arg-type]
        span_id=span_id,  # type: ignore[arg-type]
        parent=parent,
        name=_json_str(sp, "name", "name", "name"),
        kind=_json_enum(sp.get("kind"), _SPAN_KIND_NAMES, "kind"),
        start=start,
        end=end,
        attrs=_json_attrs(sp.get("attributes")),
        events=events,
        links=links,
        status=_json_enum(status.get("code"), _STATUS_NAMES, "status.code"),
        status_message=_json_str(status, "message", "message", "status.message"),
        trace_state=_json_str(sp, "traceState", "trace_state", "traceState"),
        dropped=dropped,  # type: ignore[arg-type]
    )


def _json_container(obj: Any, camel: str, snake: str, path: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise IngestError(f"{path} must be an object")
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise IngestError(f"{path}.{camel} must be a list")
    return value


def _decode_json(body: bytes) -> OtlpDecoded:
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise IngestError(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError as exc:  # msgspec raises it for invalid UTF-8 inside a string
        raise IngestError(f"malformed JSON: invalid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise IngestError("malformed JSON: nested too deeply") from None
    col = _Collector()
    for i, rs in enumerate(_json_container(doc, "resourceSpans", "resource_spans", "body")):
        path = f"resourceSpans[{i}]"
        resource = _get(rs, "resource", "resource") if isinstance(rs, dict) else None
        if resource is not None and not isinstance(resource, dict):
            raise IngestError(f"{path}.resource must be an object")
        try:
            res_attrs = _json_attrs((resource or {}).get("attributes"))
        except _SpanError as exc:
            raise IngestError(f"{path}.resource: {exc}") from None
        project = _project_of(res_attrs)
        res_prefixed = _prefixed("resource.", res_attrs)
        scope_lists = _json_container(rs, "scopeSpans", "scope_spans", path)
        # OTLP before 0.19 called these instrumentationLibrarySpans / instrumentationLibrary.
        scope_lists = scope_lists or _json_container(
            rs, "instrumentationLibrarySpans", "instrumentation_library_spans", path
        )
        for j, ss in enumerate(scope_lists):
            spath = f"{path}.scopeSpans[{j}]"
            spans = _json_container(ss, "spans", "spans", spath)
            scope = _get(ss, "scope", "scope") or _get(ss, "instrumentationLibrary", "instrumentation_library") or {}
            try:
                if not isinstance(scope, dict):
                    raise _SpanError("scope must be an object")
                context = {
                    **_scope_attrs(
                        _json_str(scope, "name", "name", "scope name"),
                        _json_str(scope, "version", "version", "scope version"),
                        _json_attrs(scope.get("attributes")),
                    ),
                    **res_prefixed,
                }
            except _SpanError as exc:
                raise IngestError(f"{spath}.scope: {exc}") from None
            for k, sp in enumerate(spans):
                col.add(project, (_JSON_PATH, i, j, k), _json_span, sp, context)
    return col.result()


# ---------------------------------------------------------------------------------------------- public API
def decode_otlp_traces(body: bytes, fmt: str) -> OtlpDecoded:
    """Decode an ``ExportTraceServiceRequest`` (``fmt`` is ``"protobuf"`` or ``"json"``).

    Raises :class:`IngestError` only when the body as a whole can't be decoded; bad spans are rejected
    one by one in the result.
    """
    if fmt == PROTOBUF:
        return _decode_protobuf(body)
    if fmt == JSON:
        if not body.strip():
            raise IngestError("empty body; expected an OTLP/JSON ExportTraceServiceRequest object")
        return _decode_json(body)
    raise ValueError(f"unknown OTLP format {fmt!r}")


def encode_export_response(decoded: OtlpDecoded, fmt: str) -> bytes:
    """The ``ExportTraceServiceResponse``, with ``partial_success`` when some spans were rejected."""
    message = decoded.error_message()
    if fmt == JSON:
        if not decoded.rejected:
            return b"{}"
        return msgspec.json.encode(
            {"partialSuccess": {"rejectedSpans": str(len(decoded.rejected)), "errorMessage": message}}
        )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    resp = ExportTraceServiceResponse()
    if decoded.rejected:
        resp.partial_success.rejected_spans = len(decoded.rejected)
        resp.partial_success.error_message = message
    return resp.SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_status(code: int, message: str, fmt: str) -> bytes:
    """A ``google.rpc.Status`` error body (protobuf, or its JSON form ``{"code", "message"}``).

    Encoded by hand (field 1 ``code``, field 2 ``message``): two fields don't justify a dependency on
    googleapis-common-protos.
    """
    if fmt == JSON:
        return msgspec.json.encode({"code": code, "message": message})
    msg = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(msg)) + msg
