"""OtlpJsonExporter: what it sends is valid OTLP (decoded with opentelemetry-proto), and how it delivers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1 import trace_pb2

import spanscope.sdk
from spanscope.model import Event, Finding, Span, TraceInfo
from spanscope.sdk.exporters import ExportBatch, SpanExporter
from spanscope.sdk.otlp_export import OtlpJsonExporter
from spanscope.testing import CaptureExporter

from .otlp_receiver import OtlpReceiver

T0 = 1_700_000_000_000_000_000
TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, CHILD, TOOL = "b7ad6b7169203331", "00f067aa0ba902b7", "53995c3f42cd8ad8"


def value_of(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def spans_by_id(receiver: OtlpReceiver) -> dict[str, Any]:
    return {s.span_id.hex(): s for s in receiver.spans()}


def root_span(**extra: Any) -> Span:
    return Span(
        trace_id=TRACE,
        span_id=ROOT,
        name="chatbot.turn",
        kind="chain",
        start_time_ns=T0,
        end_time_ns=T0 + 50_000_000,
        status="OK",
        inputs={"question": "where is my order?"},
        outputs="It ships tomorrow.",
        **extra,
    )


def llm_span() -> Span:
    return Span(
        trace_id=TRACE,
        span_id=CHILD,
        parent_span_id=ROOT,
        name="chat gpt-4o-mini",
        kind="llm",
        start_time_ns=T0 + 1_000_000,
        end_time_ns=T0 + 40_000_000,
        status="OK",
        attributes={
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 12,
            "spanscope.cost_usd": 0.0000048,
            "gen_ai.response.finish_reasons": ["stop"],
            "cached": False,
            "big": 2**70,
        },
        inputs={"messages": [{"role": "user", "content": "hi"}]},
        outputs={"choices": [{"message": {"role": "assistant", "content": "hello"}}]},
    )


def tool_span() -> Span:
    return Span(
        trace_id=TRACE,
        span_id=TOOL,
        parent_span_id=ROOT,
        name="get_order",
        kind="tool",
        start_time_ns=T0 + 41_000_000,
        end_time_ns=T0 + 45_000_000,
        status="ERROR",
        status_message="order not found",
        events=[
            Event(
                name="exception",
                time_ns=T0 + 44_000_000,
                attributes={"exception.type": "KeyError", "exception.message": "'A1'", "exception.stacktrace": "..."},
            )
        ],
    )


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture
def exporter_for() -> Iterator[Callable[..., OtlpJsonExporter]]:
    """Exporters to the receiver (fast backoff), shut down (their keep-alive socket closed) afterwards."""
    made: list[OtlpJsonExporter] = []

    def make(receiver: OtlpReceiver, **kwargs: Any) -> OtlpJsonExporter:
        kwargs.setdefault("backoff", 0.01)
        made.append(OtlpJsonExporter(receiver.url, **kwargs))
        return made[-1]

    yield make
    for exporter in made:
        exporter.shutdown()


def test_implements_the_exporter_protocol(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    assert isinstance(exporter_for(receiver), SpanExporter)


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("http://127.0.0.1:4318", "/v1/traces"),
        ("http://127.0.0.1:4318/", "/v1/traces"),
        ("127.0.0.1:4318", "/v1/traces"),
        ("https://otel.example.com/api/v2/otlp/traces", "/api/v2/otlp/traces"),
        ("http://127.0.0.1:4318/v1/traces?tenant=a", "/v1/traces?tenant=a"),
    ],
)
def test_endpoint_path(endpoint: str, path: str) -> None:
    assert OtlpJsonExporter(endpoint)._path == path


def test_bad_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        OtlpJsonExporter("ftp://collector:21")


def test_a_batch_is_valid_otlp_with_the_model_mapped(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    exporter = exporter_for(receiver, headers={"x-api-key": "secret"}, resource_attributes={"deployment": "test"})
    batch = ExportBatch(
        spans=[llm_span(), tool_span(), root_span()],
        traces=[
            TraceInfo(
                trace_id=TRACE,
                tags={"channel": "web", "quality": 0.8},
                metadata={"locale": "en-GB", "ab": {"arm": "b"}},
                session_id="s-1",
                user_id="u-1",
            )
        ],
        findings=[
            Finding(trace_id=TRACE, span_id=CHILD, name="helpful", value=True, source="human", time_ns=T0 + 2),
            Finding(trace_id=TRACE, name="quality", value=0.25, rationale="vague answer", source="llm", time_ns=T0 + 3),
            Finding(trace_id=TRACE, span_id=TOOL, name="verdict", value="wrong_tool", time_ns=T0 + 4),
        ],
    )
    assert exporter.export(batch) is True
    assert batch.rejected == 0
    assert receiver.errors == []
    assert receiver.paths == ["/v1/traces"]
    headers = {k.lower(): v for k, v in receiver.headers[0].items()}
    assert headers["content-type"] == "application/json"
    assert headers["content-encoding"] == "gzip"
    assert headers["x-api-key"] == "secret"

    (request,) = receiver.received
    (resource_spans,) = request.resource_spans
    resource = attrs(resource_spans.resource.attributes)
    assert resource["service.name"] == "spanscope"
    assert resource["telemetry.sdk.name"] == "spanscope"
    assert resource["deployment"] == "test"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "spanscope"

    spans = spans_by_id(receiver)
    assert set(spans) == {ROOT, CHILD, TOOL}
    root, llm, tool = spans[ROOT], spans[CHILD], spans[TOOL]
    for s in (root, llm, tool):
        assert s.trace_id == bytes.fromhex(TRACE)
    assert root.parent_span_id == b""
    assert llm.parent_span_id == tool.parent_span_id == bytes.fromhex(ROOT)

    assert (root.name, root.kind, root.start_time_unix_nano, root.end_time_unix_nano) == (
        "chatbot.turn",
        trace_pb2.Span.SPAN_KIND_INTERNAL,
        T0,
        T0 + 50_000_000,
    )
    assert llm.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert root.status.code == trace_pb2.Status.STATUS_CODE_OK
    assert (tool.status.code, tool.status.message) == (trace_pb2.Status.STATUS_CODE_ERROR, "order not found")

    root_attrs = attrs(root.attributes)
    assert root_attrs == {
        "spanscope.span.kind": "chain",
        "openinference.span.kind": "CHAIN",
        "input.value": '{"question":"where is my order?"}',
        "input.mime_type": "application/json",
        "output.value": "It ships tomorrow.",
        "output.mime_type": "text/plain",
        "session.id": "s-1",
        "user.id": "u-1",
        "spanscope.tag.channel": "web",
        "spanscope.tag.quality": 0.8,
        "spanscope.metadata.locale": "en-GB",
        "spanscope.metadata.ab": '{"arm":"b"}',
    }
    llm_attrs = attrs(llm.attributes)
    assert llm_attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert llm_attrs["gen_ai.usage.input_tokens"] == 12  # an intValue
    assert llm_attrs["spanscope.cost_usd"] == pytest.approx(0.0000048)  # a doubleValue
    assert llm_attrs["gen_ai.response.finish_reasons"] == ["stop"]  # an arrayValue
    assert llm_attrs["cached"] is False
    assert llm_attrs["big"] == str(2**70)  # beyond int64: text rather than a wrong number
    assert json.loads(llm_attrs["input.value"]) == {"messages": [{"role": "user", "content": "hi"}]}
    assert llm_attrs["openinference.span.kind"] == "LLM"

    (exc_event, verdict) = tool.events
    assert (exc_event.name, exc_event.time_unix_nano) == ("exception", T0 + 44_000_000)
    assert attrs(exc_event.attributes)["exception.type"] == "KeyError"
    assert verdict.name == "gen_ai.evaluation.result"
    assert attrs(verdict.attributes)["gen_ai.evaluation.score.label"] == "wrong_tool"

    (helpful,) = llm.events
    assert helpful.name == "gen_ai.evaluation.result"
    assert helpful.time_unix_nano == T0 + 2
    assert attrs(helpful.attributes) == {
        "gen_ai.evaluation.name": "helpful",
        "gen_ai.evaluation.score.value": 1.0,
        "gen_ai.evaluation.score.label": "true",
        "spanscope.finding.source": "human",
    }
    (quality,) = root.events  # a trace-level finding goes on the root span
    assert attrs(quality.attributes) == {
        "gen_ai.evaluation.name": "quality",
        "gen_ai.evaluation.score.value": 0.25,
        "gen_ai.evaluation.explanation": "vague answer",
        "spanscope.finding.source": "llm",
    }


def test_retries_429_and_5xx_then_delivers(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    receiver.replies = [(503, {}, b"busy"), (429, {"Retry-After": "0"}, b"slow down"), (500, {}, b"oops")]
    batch = ExportBatch(spans=[root_span()])
    assert exporter_for(receiver).export(batch) is True
    assert len(receiver.attempts) == 4
    assert len(receiver.received) == 1


def test_gives_up_after_max_retries(receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]) -> None:
    receiver.replies = [(503, {}, b"")] * 3
    assert exporter_for(receiver, max_retries=2).export(ExportBatch(spans=[root_span()])) is False
    assert len(receiver.attempts) == 3
    assert receiver.received == []


def test_client_errors_are_not_retried(receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]) -> None:
    receiver.replies = [(400, {}, b'{"code": 3, "message": "bad"}')]
    assert exporter_for(receiver).export(ExportBatch(spans=[root_span()])) is False
    assert len(receiver.attempts) == 1


def test_retries_stop_at_the_flush_deadline(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    receiver.replies = [(503, {"Retry-After": "30"}, b"")] * 5
    start = time.monotonic()
    batch = ExportBatch(spans=[root_span()], deadline=time.monotonic() + 1.0)
    assert exporter_for(receiver).export(batch) is False
    assert time.monotonic() - start < 1.0
    assert len(receiver.attempts) == 1


def test_unreachable_endpoint_never_raises() -> None:
    with OtlpReceiver() as gone:
        url = gone.url  # a port nothing listens on once the receiver is closed
    exporter = OtlpJsonExporter(url, max_retries=2, backoff=0.01)
    start = time.monotonic()
    assert exporter.export(ExportBatch(spans=[root_span()])) is False
    assert time.monotonic() - start < 5
    exporter.shutdown()
    assert exporter.export(ExportBatch(spans=[root_span()])) is False  # after shutdown: still no exception


def test_partial_success_counts_rejected_spans(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    reply = json.dumps({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "too old"}}).encode()
    receiver.replies = [(200, {}, reply)]
    batch = ExportBatch(spans=[root_span(), llm_span(), tool_span()])
    assert exporter_for(receiver).export(batch) is True
    assert batch.rejected == 2


def test_a_finding_waits_for_its_span_in_a_later_batch(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    exporter = exporter_for(receiver)
    early = Finding(trace_id=TRACE, span_id=CHILD, name="helpful", value=1, time_ns=T0 + 5)
    assert exporter.export(ExportBatch(findings=[early])) is True
    assert receiver.attempts == []  # nothing to send yet: the span hasn't ended
    assert exporter.export(ExportBatch(spans=[llm_span()])) is True
    (llm,) = receiver.spans()
    (event,) = llm.events
    assert attrs(event.attributes)["gen_ai.evaluation.score.value"] == 1.0


def test_a_finding_on_a_span_already_sent_travels_on_a_child_span(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    exporter = exporter_for(receiver)
    assert exporter.export(ExportBatch(spans=[llm_span()])) is True
    late = Finding(trace_id=TRACE, span_id=CHILD, name="thumbs", value="down", source="human", time_ns=T0 + 9)
    assert exporter.export(ExportBatch(findings=[late])) is True
    carrier = receiver.spans()[-1]
    assert carrier.name == "spanscope.finding"
    assert carrier.trace_id == bytes.fromhex(TRACE)
    assert carrier.parent_span_id == bytes.fromhex(CHILD)
    assert carrier.start_time_unix_nano == carrier.end_time_unix_nano == T0 + 9
    (event,) = carrier.events
    assert attrs(event.attributes)["gen_ai.evaluation.score.label"] == "down"


def test_a_waiting_finding_is_sent_when_a_flush_waits(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    exporter = exporter_for(receiver)
    pending = Finding(trace_id=TRACE, span_id=CHILD, name="helpful", value=True, time_ns=T0 + 5)
    assert exporter.export(ExportBatch(findings=[pending])) is True
    flushing = ExportBatch(spans=[tool_span()], deadline=time.monotonic() + 5)
    assert exporter.export(flushing) is True
    carrier = spans_by_id(receiver)
    assert {s.name for s in carrier.values()} == {"get_order", "spanscope.finding"}


def test_late_trace_facts_resend_the_root_span(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    exporter = exporter_for(receiver)
    assert exporter.export(ExportBatch(spans=[root_span()])) is True
    info = TraceInfo(trace_id=TRACE, tags={"late": True}, user_id="u-9")
    assert exporter.export(ExportBatch(traces=[info])) is True
    first, second = receiver.spans()
    assert first.span_id == second.span_id == bytes.fromhex(ROOT)
    assert attrs(second.attributes)["spanscope.tag.late"] is True
    assert attrs(second.attributes)["user.id"] == "u-9"


def test_trace_facts_for_an_unknown_root_are_counted_as_rejected(
    receiver: OtlpReceiver, exporter_for: Callable[..., OtlpJsonExporter]
) -> None:
    batch = ExportBatch(traces=[TraceInfo(trace_id="1" * 32, tags={"x": 1})])
    assert exporter_for(receiver).export(batch) is True
    assert batch.rejected == 1
    assert receiver.attempts == []


def test_configure_otlp_endpoint_sends_to_both(receiver: OtlpReceiver) -> None:
    primary = CaptureExporter()
    spanscope.sdk.configure(exporter=primary, otlp_endpoint=receiver.url, otlp_headers="x-team=search")
    with spanscope.sdk.trace("turn", tags={"channel": "web"}) as t, spanscope.sdk.span("chat", kind="llm"):
        pass
    assert spanscope.sdk.flush(timeout=10) is True
    assert {s.name for s in primary.spans} == {"turn", "chat"}
    spans = {s.name: s for s in receiver.spans()}
    assert set(spans) == {"turn", "chat"}
    assert spans["chat"].parent_span_id == bytes.fromhex(t.span_id or "")
    assert attrs(spans["turn"].attributes)["spanscope.tag.channel"] == "web"
    assert {k.lower(): v for k, v in receiver.headers[0].items()}["x-team"] == "search"
