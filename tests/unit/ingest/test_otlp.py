"""The OTLP decoder: protobuf and OTLP/JSON into model spans, per-span rejections, responses."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus

from spanscope.ingest.native import IngestError
from spanscope.ingest.otlp import (
    JSON,
    PROTOBUF,
    decode_otlp_traces,
    encode_export_response,
    encode_status,
    format_of,
)
from spanscope.model import Span
from tests.fixtures.otlp.capture import otlp_json  # the golden fixtures' own OTLP/JSON writer

from .otlp_util import (
    CHILD,
    ROOT,
    T0,
    TRACE,
    assert_model_valid,
    json_request,
    json_span,
    kvs,
    pb_request,
    pb_span,
)


def decode_pb(req: Any) -> Any:
    decoded = decode_otlp_traces(req.SerializeToString(), PROTOBUF)
    assert_model_valid(decoded)
    return decoded


def decode_json(doc: Any) -> Any:
    decoded = decode_otlp_traces(json.dumps(doc).encode(), JSON)
    assert_model_valid(decoded)
    return decoded


def only_spans(decoded: Any) -> list[Span]:
    (batch,) = decoded.batches.values()
    return batch.spans


# ------------------------------------------------------------------------------------------ protobuf
def test_protobuf_span_fields() -> None:
    root = pb_span(ROOT, name="agent.run", kind=PbSpan.SPAN_KIND_SERVER, trace_state="k=v")
    root.status.CopyFrom(PbStatus(code=PbStatus.STATUS_CODE_ERROR, message="boom"))
    ev = root.events.add(time_unix_nano=T0 + 5, name="exception")
    ev.attributes.extend(kvs({"exception.type": "ValueError", "exception.message": "bad"}))
    link = root.links.add(trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), trace_state="a=b")
    link.attributes.extend(kvs({"why": "retry"}))
    root.dropped_attributes_count = 3
    child = pb_span(CHILD, parent=ROOT, name="llm", start=T0 + 10, end=T0 + 20)
    child.status.code = PbStatus.STATUS_CODE_OK
    req = pb_request(
        root,
        child,
        resource={"service.name": "svc", "deployment.environment": "prod"},
        scope_attrs={"lib.flag": True},
    )
    decoded = decode_pb(req)
    assert decoded.rejected == [] and decoded.span_count == 2 and list(decoded.batches) == [None]
    r, c = only_spans(decoded)
    assert (r.trace_id, r.span_id, r.parent_span_id) == (TRACE.hex(), ROOT.hex(), None)
    assert (r.name, r.start_time_ns, r.end_time_ns) == ("agent.run", T0, T0 + 1_000_000)
    assert (r.status, r.status_message) == ("ERROR", "boom")
    assert r.attributes == {
        "otel.span_kind": "server",
        "otel.trace_state": "k=v",
        "otel.links": [f"{bytes(range(1, 17)).hex()}:{bytes(range(1, 9)).hex()}"],
        "otel.dropped_attributes_count": 3,
        "otel.scope.name": "my.lib",
        "otel.scope.version": "1.0",
        "otel.scope.attributes.lib.flag": True,
        "resource.service.name": "svc",
        "resource.deployment.environment": "prod",
    }
    assert [e.name for e in r.events] == ["exception", "otel.link"]
    assert r.events[0].time_ns == T0 + 5
    assert r.events[0].attributes == {"exception.type": "ValueError", "exception.message": "bad"}
    assert r.events[1].time_ns == T0
    assert r.events[1].attributes == {
        "otel.link.trace_id": bytes(range(1, 17)).hex(),
        "otel.link.span_id": bytes(range(1, 9)).hex(),
        "otel.link.trace_state": "a=b",
        "why": "retry",
    }
    assert (c.parent_span_id, c.status, c.status_message, c.kind) == (ROOT.hex(), "OK", None, "other")
    assert "otel.span_kind" not in c.attributes  # SPAN_KIND_UNSPECIFIED


def test_protobuf_attribute_types() -> None:
    attrs = {
        "s": "x",
        "i": -(2**63),
        "d": 1.5,
        "b": False,
        "list": ["a", "b"],
        "nums": [1, 2.5],
        "map": {"k": 1, "nested": {"z": [1, "two"]}},
        "bytes": b"\x00\xff",
        "nan": math.nan,
        "inf": -math.inf,
        "mixed": [1, [2]],
        "empty": None,
    }
    (span,) = only_spans(decode_pb(pb_request(pb_span(attrs=attrs))))
    a = span.attributes
    assert (a["s"], a["i"], a["d"], a["b"]) == ("x", -(2**63), 1.5, False)
    assert a["list"] == ["a", "b"] and a["nums"] == [1, 2.5]
    assert json.loads(a["map"]) == {"k": 1, "nested": {"z": [1, "two"]}}
    assert a["bytes"] == "AP8="
    assert (a["nan"], a["inf"]) == ("NaN", "-Infinity")
    assert json.loads(a["mixed"]) == [1, [2]]
    assert "empty" not in a


def test_empty_protobuf_body_is_an_empty_request() -> None:
    decoded = decode_otlp_traces(b"", PROTOBUF)
    assert decoded.span_count == 0 and decoded.batches == {} and decoded.rejected == []


def test_undecodable_protobuf_is_an_ingest_error() -> None:
    with pytest.raises(IngestError, match="not a valid protobuf"):
        decode_otlp_traces(b"\xff\xff\xff\xff", PROTOBUF)


BAD_PB_SPANS: list[tuple[str, dict[str, Any], str]] = [
    ("short trace id", {"trace_id": b"\x01" * 15}, "trace_id must be 16 bytes, got 15"),
    ("zero trace id", {"trace_id": b"\x00" * 16}, "trace_id is all zeros"),
    ("missing span id", {"span_id": b""}, "span_id must be 8 bytes, got 0"),
    ("long parent id", {"parent": b"\x01" * 9}, "parent_span_id must be 8 bytes or empty"),
    ("end before start", {"end": T0 - 1}, "is before start_time_unix_nano"),
    ("no start time", {"start": 0, "end": 5}, "start_time_unix_nano is missing"),
    ("time past int64", {"start": T0, "end": 2**64 - 1}, "out of range"),
    ("own parent", {"parent": ROOT}, "parent_span_id equals span_id"),
]


@pytest.mark.parametrize(("fields", "reason"), [c[1:] for c in BAD_PB_SPANS], ids=[c[0] for c in BAD_PB_SPANS])
def test_bad_protobuf_span_is_rejected_others_kept(fields: dict[str, Any], reason: str) -> None:
    span_id = fields.pop("span_id", ROOT)
    good1 = pb_span(CHILD, name="good1")
    bad = pb_span(span_id, **fields)
    good2 = pb_span(bytes.fromhex("1111111111111111"), name="good2")
    decoded = decode_pb(pb_request(good1, bad, good2))
    assert [s.name for s in only_spans(decoded)] == ["good1", "good2"]
    (rej,) = decoded.rejected
    assert (rej.kind, rej.index) == ("span", 1)
    assert "resource_spans[0].scope_spans[0].spans[1]" in rej.reason and reason in rej.reason
    msg = decoded.error_message()
    assert msg.startswith("1 of 3 spans rejected: span 1 ") and reason in msg


def test_unnamed_span_gets_a_placeholder_name() -> None:
    (span,) = only_spans(decode_pb(pb_request(pb_span(name=""))))
    assert span.name == "<unnamed>"


def test_resource_project_groups_spans() -> None:
    req = pb_request(pb_span(ROOT), resource={"service.name": "a", "spanscope.project": "team-a"})
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(kvs({"service.name": "b"}))
    rs.scope_spans.add().spans.append(pb_span(CHILD))
    decoded = decode_pb(req)
    assert {p: [s.span_id for s in b.spans] for p, b in decoded.batches.items()} == {
        "team-a": [ROOT.hex()],
        None: [CHILD.hex()],
    }


def test_translation_findings_and_trace_info_through_otlp() -> None:
    llm = pb_span(
        ROOT,
        attrs={
            "openinference.span.kind": "LLM",
            "llm.token_count.prompt": 30,
            "llm.token_count.completion": 12,
            "session.id": "s-1",
            "tag.tags": ["a"],
        },
    )
    ev = llm.events.add(time_unix_nano=T0 + 1, name="gen_ai.evaluation.result")
    ev.attributes.extend(kvs({"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.5}))
    other = pb_span(CHILD, parent=ROOT, attrs={"user.id": "u-1", "tag.tags": ["b"]})
    (batch,) = decode_pb(pb_request(llm, other)).batches.values()
    span = batch.spans[0]
    assert span.kind == "llm" and span.attributes["gen_ai.usage.input_tokens"] == 30
    assert span.attributes["usage.total_tokens"] == 42
    (finding,) = batch.findings
    assert (finding.name, finding.value, finding.span_id, finding.trace_id) == (
        "relevance",
        0.5,
        ROOT.hex(),
        TRACE.hex(),
    )
    (info,) = batch.traces  # merged per trace
    assert (info.session_id, info.user_id, info.tags) == ("s-1", "u-1", {"a": True, "b": True})


# ------------------------------------------------------------------------------------------ OTLP/JSON
def test_json_span_fields_match_protobuf() -> None:
    root = pb_span(ROOT, name="r", kind=PbSpan.SPAN_KIND_CLIENT, attrs={"n": 5, "f": 0.25, "l": [True, False]})
    root.status.CopyFrom(PbStatus(code=PbStatus.STATUS_CODE_ERROR, message="x"))
    root.events.add(time_unix_nano=T0 + 1, name="e").attributes.extend(kvs({"k": "v"}))
    root.links.add(trace_id=TRACE, span_id=CHILD)
    child = pb_span(CHILD, parent=ROOT, attrs={"m": {"a": [1]}, "b": b"hi"})
    req = pb_request(root, child, resource={"service.name": "svc"})

    from_pb = only_spans(decode_pb(req))
    from_json = only_spans(decode_json(otlp_json(req)))
    assert from_json == from_pb


JSON_VARIANTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("upper-case hex ids", {"traceId": TRACE.hex().upper()}, {"trace_id": TRACE.hex()}),
    ("base64 ids", {"spanId": "t61rcWkgMzE="}, {"span_id": ROOT.hex()}),
    ("times as numbers", {"startTimeUnixNano": T0, "endTimeUnixNano": T0 + 7}, {"end_time_ns": T0 + 7}),
    ("enum names", {"kind": "SPAN_KIND_PRODUCER", "status": {"code": "STATUS_CODE_OK"}}, {"status": "OK"}),
    ("enum ints", {"kind": 4, "status": {"code": 2, "message": "m"}}, {"status": "ERROR", "status_message": "m"}),
    ("empty parent id", {"parentSpanId": ""}, {"parent_span_id": None}),
    ("snake_case keys", {"parent_span_id": CHILD.hex(), "trace_state": "x=1"}, {"parent_span_id": CHILD.hex()}),
    (
        "typed values",
        {
            "attributes": [
                {"key": "i", "value": {"intValue": "-12"}},
                {"key": "d", "value": {"doubleValue": "Infinity"}},
                {"key": "d2", "value": {"doubleValue": 3}},
                {"key": "s", "value": {"string_value": "snake"}},
                {"key": "empty", "value": {}},
                {"key": "none"},
            ]
        },
        {"attributes": {"i": -12, "d": "Infinity", "d2": 3.0, "s": "snake", "otel.scope.name": "my.lib"}},
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in JSON_VARIANTS], ids=[c[0] for c in JSON_VARIANTS])
def test_json_variants(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    (span,) = only_spans(decode_json(json_request(json_span(**fields))))
    for key, value in expected.items():
        assert getattr(span, key) == value, key


BAD_JSON_SPANS: list[tuple[str, Any, str]] = [
    ("not an object", "span", "span must be an object"),
    ("short trace id", {"traceId": "abc"}, "traceId must be 32 hex digits"),
    ("non-hex span id", {"spanId": "zzzzzzzzzzzzzzzz"}, "spanId must be 16 hex digits"),
    ("missing span id", {"spanId": None}, "spanId is missing"),
    ("numeric id", {"traceId": 5}, "traceId must be a hex string"),
    ("negative time", {"startTimeUnixNano": -5}, "startTimeUnixNano is out of range"),
    ("time not a number", {"endTimeUnixNano": "soon"}, "endTimeUnixNano must be a non-negative integer"),
    ("end before start", {"endTimeUnixNano": str(T0 - 1)}, "is before"),
    ("bad kind", {"kind": "SERVER"}, "kind must be an integer or an enum name"),
    ("bad intValue", {"attributes": [{"key": "n", "value": {"intValue": "1.5"}}]}, "intValue must be an integer"),
    ("int64 overflow", {"attributes": [{"key": "n", "value": {"intValue": str(2**63)}}]}, "int64 range"),
    ("attribute without key", {"attributes": [{"value": {"stringValue": "x"}}]}, "string 'key'"),
    ("attributes not a list", {"attributes": {"k": "v"}}, "attributes must be a list"),
    ("value not an object", {"attributes": [{"key": "k", "value": "v"}]}, "must be an AnyValue object"),
    ("bad bytes", {"attributes": [{"key": "k", "value": {"bytesValue": "!!"}}]}, "not valid base64"),
    ("bad status", {"status": "OK"}, "status must be an object"),
    ("events not a list", {"events": {}}, "events must be a list"),
    ("name not a string", {"name": 3}, "name must be a string"),
]


@pytest.mark.parametrize(("fields", "reason"), [c[1:] for c in BAD_JSON_SPANS], ids=[c[0] for c in BAD_JSON_SPANS])
def test_bad_json_span_is_rejected_others_kept(fields: Any, reason: str) -> None:
    bad = json_span(**fields) if isinstance(fields, dict) else fields
    if isinstance(bad, dict):
        bad = {k: v for k, v in bad.items() if v is not None}
    decoded = decode_json(json_request(json_span(CHILD.hex(), name="good"), bad))
    assert [s.name for s in only_spans(decoded)] == ["good"]
    (rej,) = decoded.rejected
    assert rej.index == 1 and "resourceSpans[0].scopeSpans[0].spans[1]" in rej.reason
    assert reason in rej.reason, rej.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"{", "malformed JSON"),
        (b"[]", "body must be an object"),
        (b'{"resourceSpans": {}}', "resourceSpans must be a list"),
        (b'{"resourceSpans": [1]}', "resourceSpans[0] must be an object"),
        (b'{"resourceSpans": [{"resource": []}]}', "resource must be an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": 1}]}]}', "spans must be a list"),
        (b'{"resourceSpans": [{"resource": {"attributes": [{"key": 1}]}}]}', "resourceSpans[0].resource"),
        (b"[" * 5000 + b"]" * 5000, "malformed JSON"),
    ],
)
def test_undecodable_json_is_an_ingest_error(body: bytes, message: str) -> None:
    with pytest.raises(IngestError) as err:
        decode_otlp_traces(body, JSON)
    assert message in str(err.value)


def test_empty_json_request_and_legacy_instrumentation_library_spans() -> None:
    assert decode_json({}).span_count == 0
    doc = {"resourceSpans": [{"instrumentationLibrarySpans": [{"spans": [json_span()]}]}]}
    assert len(only_spans(decode_json(doc))) == 1


def test_deeply_nested_values_are_rejected_not_crashed() -> None:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(40):
        value = {"arrayValue": {"values": [value]}}
    decoded = decode_json(json_request(json_span(attributes=[{"key": "deep", "value": value}])))
    assert decoded.batches == {} and "nested deeper than 32" in decoded.rejected[0].reason


# ------------------------------------------------------------------------------------------ responses
def test_export_response_protobuf() -> None:
    decoded = decode_pb(pb_request(pb_span(ROOT), pb_span(CHILD, trace_id=b"\x00" * 16)))
    resp = ExportTraceServiceResponse.FromString(encode_export_response(decoded, PROTOBUF))
    assert resp.partial_success.rejected_spans == 1
    assert resp.partial_success.error_message == decoded.error_message()
    assert "trace_id is all zeros" in resp.partial_success.error_message
    ok = decode_pb(pb_request(pb_span(ROOT)))
    assert encode_export_response(ok, PROTOBUF) == b""  # partial_success unset
    assert not ExportTraceServiceResponse.FromString(b"").HasField("partial_success")


def test_export_response_json() -> None:
    decoded = decode_json(json_request(json_span(), json_span(trace_id="00")))
    body = msgspec.json.decode(encode_export_response(decoded, JSON))
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "traceId must be 32 hex digits" in body["partialSuccess"]["errorMessage"]
    assert encode_export_response(decode_json(json_request(json_span())), JSON) == b"{}"


def test_error_message_lists_the_first_five_reasons() -> None:
    spans = [pb_span(bytes([0, 0, 0, 0, 0, 0, 0, i]), end=T0 - 1) for i in range(1, 9)]
    msg = decode_pb(pb_request(*spans)).error_message()
    assert msg.startswith("8 of 8 spans rejected: span 0 ") and msg.endswith("; and 3 more")
    assert msg.count("is before") == 5


def test_status_bodies() -> None:
    status = Status.FromString(encode_status(3, "bad thing ✓", PROTOBUF))
    assert (status.code, status.message) == (3, "bad thing ✓")
    long = "x" * 300  # a message length that needs a two-byte varint
    assert Status.FromString(encode_status(8, long, PROTOBUF)).message == long
    assert msgspec.json.decode(encode_status(3, "m", JSON)) == {"code": 3, "message": "m"}


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("application/x-protobuf", PROTOBUF),
        ("Application/X-Protobuf", PROTOBUF),
        ("application/protobuf", PROTOBUF),
        ("application/json; charset=utf-8", JSON),
        ("text/plain", None),
        ("", None),
        (None, None),
    ],
)
def test_format_of(header: str | None, fmt: str | None) -> None:
    assert format_of(header) == fmt
