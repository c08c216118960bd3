"""Hypothesis strategies for OTLP payloads: junk, valid-shaped with bad fields, and random protobuf messages."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .otlp_util import T0, kvs

# Any JSON value (what a confused or hostile client might send anywhere).
json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _one(key: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return strategy.map(lambda v: {key: v})


_scalar_any_values = st.one_of(
    _one("stringValue", st.text(max_size=30)),
    _one("boolValue", st.booleans()),
    _one("intValue", st.integers(-(2**63), 2**63 - 1).map(str)),
    _one("intValue", st.integers(-(2**70), 2**70)),
    _one("doubleValue", st.floats(allow_nan=False, allow_infinity=False)),
    _one("doubleValue", st.sampled_from(["NaN", "Infinity", "-Infinity", "1e3", "x"])),
    _one("bytesValue", st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode())),
    _one("bytesValue", st.text(max_size=8)),
    st.just({}),
    json_junk,
)
any_values = st.recursive(
    _scalar_any_values,
    lambda children: st.one_of(
        _one("arrayValue", st.fixed_dictionaries({"values": st.lists(children, max_size=4)})),
        _one(
            "kvlistValue",
            st.fixed_dictionaries(
                {
                    "values": st.lists(
                        st.fixed_dictionaries({"key": st.text(max_size=10), "value": children}), max_size=4
                    )
                }
            ),
        ),
    ),
    max_leaves=10,
)
_key_names = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "gen_ai.operation.name",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.usage.input_tokens",
            "openinference.span.kind",
            "llm.input_messages.0.message.role",
            "llm.input_messages.0.message.content",
            "llm.token_count.prompt",
            "input.value",
            "input.mime_type",
            "session.id",
            "tag.tags",
            "metadata",
            "traceloop.span.kind",
            "mlflow.spanType",
            "mlflow.spanInputs",
            "langfuse.observation.type",
            "langfuse.observation.usage_details",
            "spanscope.project",
        ]
    ),
)
attributes = st.lists(st.fixed_dictionaries({"key": _key_names, "value": any_values}), max_size=6) | json_junk


def _hex_id(size: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=size, max_size=size).map(bytes.hex)


_valid_times = st.integers(T0, T0 + 10**12)
_bad_times = st.one_of(st.integers(-(2**64), 2**65), st.text(max_size=5), json_junk)
_valid_attributes = st.lists(
    st.fixed_dictionaries({"key": _key_names, "value": any_values.filter(lambda v: isinstance(v, dict))}), max_size=6
)
events = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(max_size=10), "timeUnixNano": _valid_times.map(str)},
        optional={"attributes": _valid_attributes},
    ),
    max_size=3,
)
_valid_span_fields: dict[str, st.SearchStrategy[Any]] = {
    "traceId": _hex_id(16),
    "spanId": _hex_id(8),
    "parentSpanId": st.one_of(_hex_id(8), st.just("")),
    "name": st.text(max_size=20),
    "kind": st.integers(0, 5) | st.sampled_from(["SPAN_KIND_CLIENT", "SPAN_KIND_INTERNAL"]),
    "status": st.fixed_dictionaries({}, optional={"code": st.integers(0, 2), "message": st.text(max_size=10)}),
    "attributes": _valid_attributes,
    "events": events,
    "links": st.lists(st.fixed_dictionaries({"traceId": _hex_id(16), "spanId": _hex_id(8)}), max_size=2),
    "droppedAttributesCount": st.integers(0, 10),
}
_bad_span_fields: dict[str, st.SearchStrategy[Any]] = {
    "traceId": st.text(max_size=40) | json_junk,
    "spanId": st.text(max_size=20) | json_junk,
    "parentSpanId": json_junk,
    "startTimeUnixNano": _bad_times,
    "endTimeUnixNano": _bad_times,
    "name": json_junk,
    "kind": st.integers(-3, 9) | st.just("CLIENT") | json_junk,
    "status": st.fixed_dictionaries({}, optional={"code": json_junk, "message": json_junk}) | json_junk,
    "attributes": attributes,
    "events": st.lists(st.fixed_dictionaries({}, optional={"name": json_junk, "timeUnixNano": _bad_times})) | json_junk,
    "links": st.lists(st.fixed_dictionaries({}, optional={"traceId": json_junk, "spanId": json_junk})) | json_junk,
    "droppedAttributesCount": st.integers(-1, 2**33) | json_junk,
}


@st.composite
def json_spans(draw: st.DrawFn) -> Any:
    """A valid OTLP/JSON span, then 0-2 of its fields replaced by something invalid (sometimes not a span)."""
    start = draw(_valid_times)
    span: dict[str, Any] = {
        "traceId": draw(_hex_id(16)),
        "spanId": draw(_hex_id(8)),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + draw(st.integers(0, 10**9))),
    }
    for key in draw(st.sets(st.sampled_from(sorted(_valid_span_fields)), max_size=5)):
        span[key] = draw(_valid_span_fields[key])
    for key in draw(st.sets(st.sampled_from(sorted(_bad_span_fields)), max_size=2)):
        span[key] = draw(_bad_span_fields[key])
    return draw(st.just(span) | st.just(span) | st.just(span) | json_junk)


json_requests = st.fixed_dictionaries(
    {
        "resourceSpans": st.lists(
            st.fixed_dictionaries(
                {
                    "scopeSpans": st.lists(
                        st.fixed_dictionaries(
                            {"spans": st.lists(json_spans(), max_size=4)},
                            optional={"scope": st.fixed_dictionaries({}, optional={"name": st.text(max_size=8)})},
                        ),
                        max_size=2,
                    )
                },
                optional={"resource": st.fixed_dictionaries({"attributes": attributes})},
            ),
            max_size=2,
        )
    }
)


def count_json_spans(doc: dict[str, Any]) -> int:
    return sum(len(ss["spans"]) for rs in doc["resourceSpans"] for ss in rs["scopeSpans"])


# Python values that otlp_util.any_value turns into AnyValue trees.
python_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=8)
    | st.sampled_from(['{"a": 1}', "[1, 2", '[{"role": "user", "parts": 3}]', '"LLM"']),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
python_attributes = st.dictionaries(_key_names, python_values, max_size=6)


@st.composite
def pb_requests(draw: st.DrawFn) -> tuple[bytes, int]:
    """A random ExportTraceServiceRequest (every field any value its type allows) and its span count."""
    req = ExportTraceServiceRequest()
    n = 0
    for _ in range(draw(st.integers(0, 2))):
        rs = req.resource_spans.add()
        rs.resource.attributes.extend(kvs(draw(python_attributes)))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(st.text(max_size=10))
            for _ in range(draw(st.integers(0, 3))):
                n += 1
                sp = ss.spans.add()
                bad = draw(st.sets(st.sampled_from(["trace", "span", "parent", "time", "enum"]), max_size=2))
                ok_start = draw(st.integers(T0, T0 + 10**12))
                sp.trace_id = draw(st.binary(max_size=20) if "trace" in bad else st.binary(min_size=16, max_size=16))
                sp.span_id = draw(st.binary(max_size=10) if "span" in bad else st.binary(min_size=8, max_size=8))
                sp.parent_span_id = draw(
                    st.binary(max_size=10) if "parent" in bad else st.sampled_from([b"", b"\1" * 8])
                )
                sp.name = draw(st.text(max_size=15))
                sp.kind = draw(st.integers(-(2**31), 2**31 - 1) if "enum" in bad else st.integers(0, 5))
                times = st.integers(0, 2**64 - 1) if "time" in bad else st.integers(ok_start, ok_start + 10**9)
                sp.start_time_unix_nano = draw(times) if "time" in bad else ok_start
                sp.end_time_unix_nano = draw(times)
                sp.status.code = draw(st.integers(-(2**31), 2**31 - 1) if "enum" in bad else st.integers(0, 2))
                sp.status.message = draw(st.text(max_size=10))
                sp.trace_state = draw(st.text(max_size=10))
                sp.dropped_attributes_count = draw(st.integers(0, 2**32 - 1))
                sp.attributes.extend(kvs(draw(python_attributes)))
                for _ in range(draw(st.integers(0, 2))):
                    ev = sp.events.add(name=draw(st.text(max_size=10)), time_unix_nano=draw(st.integers(0, 2**64 - 1)))
                    ev.attributes.extend(kvs(draw(python_attributes)))
                for _ in range(draw(st.integers(0, 1))):
                    ln = sp.links.add(trace_id=draw(st.binary(max_size=17)), span_id=draw(st.binary(max_size=9)))
                    ln.attributes.extend(kvs(draw(python_attributes)))
    return req.SerializeToString(), n


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()
