"""spanscope.otel.SpanProcessor: spans from a real OpenTelemetry TracerProvider arrive in spanscope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor as OtelSpanProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

import spanscope.sdk
from spanscope.model import Span
from spanscope.otel import SpanProcessor
from spanscope.testing import CaptureExporter


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    p = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    p.add_span_processor(SpanProcessor())
    yield p
    p.shutdown()


@pytest.fixture
def tracer(provider: TracerProvider) -> otel_trace.Tracer:
    return provider.get_tracer("acme.agents", "1.2.0")


def hex_ids(otel_span: Any) -> tuple[str, str]:
    ctx = otel_span.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def by_name(cap: CaptureExporter) -> dict[str, Span]:
    return {s.name: s for s in cap.spans}


def test_is_an_otel_span_processor() -> None:
    assert isinstance(SpanProcessor(), OtelSpanProcessor)


def test_nested_genai_spans_arrive_with_ids_parentage_kinds_and_attributes(
    tracer: otel_trace.Tracer, cap: CaptureExporter
) -> None:
    input_messages = [{"role": "user", "parts": [{"type": "text", "content": "Where is order A1?"}]}]
    output_messages = [
        {"role": "assistant", "parts": [{"type": "text", "content": "It ships today."}], "finish_reason": "stop"}
    ]
    with tracer.start_as_current_span(
        "invoke_agent support", attributes={"gen_ai.operation.name": "invoke_agent"}
    ) as agent:
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.request.temperature": 0.1,
                "gen_ai.usage.input_tokens": 30,
                "gen_ai.usage.output_tokens": 8,
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.input.messages": json.dumps(input_messages),
                "gen_ai.output.messages": json.dumps(output_messages),
            },
        ) as chat:
            pass
        with tracer.start_as_current_span(
            "execute_tool get_order",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_order",
                "gen_ai.tool.call.arguments": '{"order_id": "A1"}',
                "gen_ai.tool.call.result": '{"status": "shipped"}',
            },
        ) as tool:
            pass
    spans = by_name(cap)
    assert set(spans) == {"invoke_agent support", "chat gpt-4o", "execute_tool get_order"}
    root, llm, tool_span = spans["invoke_agent support"], spans["chat gpt-4o"], spans["execute_tool get_order"]

    trace_id, root_id = hex_ids(agent)
    assert (root.trace_id, root.span_id, root.parent_span_id) == (trace_id, root_id, None)
    assert (llm.trace_id, llm.span_id, llm.parent_span_id) == (trace_id, hex_ids(chat)[1], root_id)
    assert (tool_span.span_id, tool_span.parent_span_id) == (hex_ids(tool)[1], root_id)
    assert (root.kind, llm.kind, tool_span.kind) == ("agent", "llm", "tool")
    assert root.status == llm.status == "UNSET"  # OTel spans keep the status they carry
    assert llm.start_time_ns == chat.start_time and llm.end_time_ns == chat.end_time  # type: ignore[attr-defined]

    assert llm.attributes["gen_ai.request.model"] == "gpt-4o"
    assert llm.attributes["gen_ai.request.temperature"] == 0.1
    assert llm.attributes["gen_ai.response.finish_reasons"] == ["stop"]  # tuples become lists
    assert llm.attributes["usage.total_tokens"] == 38
    assert llm.attributes["otel.span_kind"] == "client"
    assert llm.attributes["otel.scope.name"] == "acme.agents"
    assert llm.attributes["otel.scope.version"] == "1.2.0"
    assert llm.attributes["resource.service.name"] == "support-bot"
    assert llm.inputs == {"messages": [{"role": "user", "content": "Where is order A1?"}]}
    assert llm.outputs["messages"][0]["content"] == "It ships today."
    assert tool_span.inputs == {"order_id": "A1"}
    assert tool_span.outputs == {"status": "shipped"}


def test_errors_and_exceptions(tracer: otel_trace.Tracer, cap: CaptureExporter) -> None:
    with pytest.raises(KeyError), tracer.start_as_current_span("lookup", attributes={"db.system.name": "postgresql"}):
        raise KeyError("A1")
    with tracer.start_as_current_span("checked") as s:
        s.set_status(Status(StatusCode.OK))
    (lookup, checked) = cap.spans
    assert (lookup.kind, lookup.status, lookup.status_message) == ("db", "ERROR", "KeyError: 'A1'")
    (event,) = lookup.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "KeyError"
    assert "Traceback" in str(event.attributes["exception.stacktrace"])
    assert checked.status == "OK"


def test_openinference_spans(tracer: otel_trace.Tracer, cap: CaptureExporter) -> None:
    with tracer.start_as_current_span(
        "ChatOpenAI",
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 11,
            "llm.token_count.completion": 4,
            "llm.token_count.total": 15,
            "input.value": '{"messages": [{"role": "user", "content": "hi"}]}',
            "input.mime_type": "application/json",
            "output.value": "hello",
            "session.id": "s-42",
            "user.id": "u-7",
        },
    ):
        pass
    (s,) = cap.spans
    assert s.kind == "llm"
    assert s.inputs == {"messages": [{"role": "user", "content": "hi"}]}
    assert s.outputs == "hello"
    assert s.attributes["gen_ai.usage.input_tokens"] == 11
    assert s.attributes["gen_ai.usage.output_tokens"] == 4
    assert s.attributes["usage.total_tokens"] == 15
    assert s.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    info = cap.trace_info(s.trace_id)
    assert (info["session_id"], info["user_id"]) == ("s-42", "u-7")


def test_evaluation_events_become_findings(tracer: otel_trace.Tracer, cap: CaptureExporter) -> None:
    with tracer.start_as_current_span("chat", attributes={"gen_ai.operation.name": "chat"}) as s:
        s.add_event(
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "relevance",
                "gen_ai.evaluation.score.value": 0.4,
                "gen_ai.evaluation.explanation": "off topic",
            },
        )
    (finding,) = cap.findings
    trace_id, span_id = hex_ids(s)
    assert (finding.trace_id, finding.span_id, finding.name, finding.value) == (trace_id, span_id, "relevance", 0.4)
    assert finding.rationale == "off topic"


def test_links_and_http_kind(tracer: otel_trace.Tracer, cap: CaptureExporter) -> None:
    with tracer.start_as_current_span("upstream") as upstream:
        pass
    link = Link(upstream.get_span_context(), {"reason": "retry"})
    with tracer.start_as_current_span("GET /orders", links=[link], attributes={"http.request.method": "GET"}):
        pass
    http = by_name(cap)["GET /orders"]
    up_trace, up_span = hex_ids(upstream)
    assert http.kind == "http"
    assert http.attributes["otel.links"] == [f"{up_trace}:{up_span}"]
    (event,) = http.events
    assert (event.name, event.attributes["reason"]) == ("otel.link", "retry")


def test_otel_inside_spanscope_inside_otel_is_one_tree(tracer: otel_trace.Tracer, cap: CaptureExporter) -> None:
    with (
        tracer.start_as_current_span("otel.request") as outer,
        spanscope.sdk.span("spanscope.step", kind="chain"),
        tracer.start_as_current_span("otel.inner", attributes={"gen_ai.operation.name": "chat"}),
    ):
        pass
    assert cap.span_tree() == [
        {
            "name": "otel.request",
            "kind": "other",
            "status": "UNSET",
            "children": [
                {
                    "name": "spanscope.step",
                    "kind": "chain",
                    "status": "OK",
                    "children": [{"name": "otel.inner", "kind": "llm", "status": "UNSET", "children": []}],
                }
            ],
        }
    ]
    assert {s.trace_id for s in cap.spans} == {hex_ids(outer)[0]}


def test_force_flush_flushes_spanscope(provider: TracerProvider, tracer: otel_trace.Tracer) -> None:
    exporter = CaptureExporter()
    spanscope.sdk.configure(exporter=exporter, flush_interval=60)
    with tracer.start_as_current_span("work"):
        pass
    assert provider.force_flush() is True
    assert [s.name for b in exporter.batches for s in b.spans] == ["work"]


def test_does_nothing_before_configure(tracer: otel_trace.Tracer) -> None:
    with tracer.start_as_current_span("work"):
        pass
    assert spanscope.sdk.stats()["spans_ended"] == 0
