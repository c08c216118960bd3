"""Builders for OTLP requests in tests, and the check that decoded items survive the ingest log's codec."""

from __future__ import annotations

from typing import Any

import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from spanscope.ingest.otlp import OtlpDecoded
from spanscope.model import Finding, Span, TraceInfo

T0 = 1_700_000_000_000_000_000
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
ROOT = bytes.fromhex("b7ad6b7169203331")
CHILD = bytes.fromhex("00f067aa0ba902b7")


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        v = AnyValue()
        v.array_value.values.extend(any_value(x) for x in value)
        return v
    if isinstance(value, dict):
        v = AnyValue()
        v.kvlist_value.values.extend(KeyValue(key=k, value=any_value(x)) for k, x in value.items())
        return v
    if value is None:
        return AnyValue()
    raise TypeError(value)


def kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


def pb_span(
    span_id: bytes = ROOT,
    *,
    trace_id: bytes = TRACE,
    parent: bytes = b"",
    name: str = "op",
    start: int = T0,
    end: int | None = None,
    attrs: dict[str, Any] | None = None,
    **fields: Any,
) -> PbSpan:
    sp = PbSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1_000_000 if end is None else end,
        **fields,
    )
    sp.attributes.extend(kvs(attrs or {}))
    return sp


def pb_request(
    *spans: PbSpan,
    resource: dict[str, Any] | None = None,
    scope: tuple[str, str] = ("my.lib", "1.0"),
    scope_attrs: dict[str, Any] | None = None,
) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(kvs(resource if resource is not None else {"service.name": "svc"}))
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = scope
    ss.scope.attributes.extend(kvs(scope_attrs or {}))
    ss.spans.extend(spans)
    return req


def json_span(
    span_id: str = ROOT.hex(),
    *,
    trace_id: str = TRACE.hex(),
    start: int | str = str(T0),
    end: int | str = str(T0 + 1_000_000),
    **fields: Any,
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "op",
        "startTimeUnixNano": start,
        "endTimeUnixNano": end,
        **fields,
    }


def json_request(*spans: Any, resource_attrs: list[Any] | None = None) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": resource_attrs or []},
                "scopeSpans": [{"scope": {"name": "my.lib"}, "spans": list(spans)}],
            }
        ]
    }


_WAL_RECORD = msgspec.json.Decoder(tuple[list[TraceInfo], list[Span], list[Finding]])


def assert_model_valid(decoded: OtlpDecoded) -> None:
    """Everything decoded must pass the model's own validation (types, id patterns, non-empty names), as it
    would when the ingest log is replayed or a client reads it back."""
    for batch in decoded.batches.values():
        data = msgspec.json.encode((batch.traces, batch.spans, batch.findings))
        traces, spans, findings = _WAL_RECORD.decode(data)
        assert len(spans) == len(batch.spans)
        assert len(traces) == len(batch.traces)
        assert len(findings) == len(batch.findings)
