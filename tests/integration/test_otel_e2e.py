"""OpenTelemetry both ways against a real spanscope server on loopback.

- OTel spans -> spanscope.otel.SpanProcessor -> the SDK pipeline -> server -> search_traces.
- spanscope spans -> OtlpJsonExporter -> the server's OTLP endpoint (POST /v1/traces) -> get_trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import spanscope
from spanscope.otel import SpanProcessor
from spanscope.sdk.otlp_export import OtlpJsonExporter
from spanscope.server import ServerThread


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    p = TracerProvider()
    p.add_span_processor(SpanProcessor())
    yield p
    p.shutdown()


@pytest.fixture
def sdk_to(server: ServerThread) -> Iterator[ServerThread]:
    yield server
    spanscope.shutdown()


def test_otel_spans_are_searchable_in_spanscope(sdk_to: ServerThread, provider: TracerProvider) -> None:
    spanscope.configure(endpoint=sdk_to.url, project="otel-e2e")
    tracer = provider.get_tracer("e2e")
    with tracer.start_as_current_span("support.turn", attributes={"openinference.span.kind": "CHAIN"}) as root:
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 21,
                "gen_ai.usage.output_tokens": 9,
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
            },
        ):
            pass
        with tracer.start_as_current_span("search docs", attributes={"openinference.span.kind": "RETRIEVER"}):
            pass
    assert spanscope.flush(timeout=10) is True

    trace_id = f"{root.get_span_context().trace_id:032x}"
    df = spanscope.search_traces("span.kind = 'llm'", extract_fields=["span.attributes.usage.total_tokens"])
    assert list(df["trace_id"]) == [trace_id]
    assert df["name"].iloc[0] == "support.turn"

    trace = spanscope.get_trace(trace_id)
    kinds = {s.name: s.kind for s in trace.spans}
    assert kinds == {"support.turn": "chain", "chat gpt-4o-mini": "llm", "search docs": "retriever"}
    llm = next(s for s in trace.spans if s.kind == "llm")
    assert llm.parent_span_id == f"{root.get_span_context().span_id:016x}"
    assert llm.attributes["usage.total_tokens"] == 30
    assert llm.inputs == {"messages": [{"role": "user", "content": "hi"}]}
    assert spanscope.search_traces("span.attributes.`gen_ai.request.model` = 'gpt-4o-mini'").shape[0] == 1


def test_spanscope_spans_over_otlp_into_the_server(sdk_to: ServerThread) -> None:
    exporter = OtlpJsonExporter(sdk_to.url, resource_attributes={"spanscope.project": "otlp-e2e"})
    spanscope.configure(exporter=exporter)
    with spanscope.trace("chatbot.turn", kind="chain", session_id="s-1", user_id="u-1") as t:
        t.set_inputs({"question": "where is my order?"})
        with spanscope.span("chat gpt-4o-mini", kind="llm") as s:
            s.set_attributes({"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 5})
            s.set_outputs({"choices": [{"message": {"role": "assistant", "content": "tomorrow"}}]})
            s.add_finding("helpful", 0.75, rationale="clear")
        with pytest.raises(KeyError), spanscope.span("get_order", kind="tool"):
            raise KeyError("A1")
    assert spanscope.flush(timeout=10) is True

    client = spanscope.Client(sdk_to.url, project="otlp-e2e")
    trace = client.get_trace(t.trace_id)  # type: ignore[arg-type]
    spans = {s.name: s for s in trace.spans}
    assert {n: s.kind for n, s in spans.items()} == {
        "chatbot.turn": "chain",
        "chat gpt-4o-mini": "llm",
        "get_order": "tool",
    }
    assert spans["chat gpt-4o-mini"].parent_span_id == t.span_id
    assert spans["chatbot.turn"].inputs == {"question": "where is my order?"}
    assert spans["chat gpt-4o-mini"].outputs == {"choices": [{"message": {"role": "assistant", "content": "tomorrow"}}]}
    assert spans["get_order"].status == "ERROR"
    assert spans["get_order"].events[0].name == "exception"
    assert (trace.session_id, trace.user_id) == ("s-1", "u-1")
    (finding,) = trace.findings
    assert (finding.name, finding.value, finding.span_id, finding.rationale) == ("helpful", 0.75, s.span_id, "clear")
