"""The real OpenTelemetry SDK + OTLP/HTTP exporter -> ``POST /v1/traces`` -> search_traces / get_trace."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, set_span_in_context

import spanscope
from spanscope.server import ServerThread

T0 = 1_700_000_000_000_000_000
MINUTE = 60 * 1_000_000_000
TOKEN_FILTER = "span.kind = 'llm' AND span.attributes.gen_ai.usage.input_tokens > 10"


class RecordingExporter(SpanExporter):
    """Wraps the real OTLP exporter and keeps every export's result, so a failed export fails the test."""

    def __init__(self, inner: OTLPSpanExporter) -> None:
        self.inner = inner
        self.results: list[SpanExportResult] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()


class Otel:
    def __init__(self, srv: ServerThread, project: str, compression: Compression | None = None) -> None:
        exporter = OTLPSpanExporter(
            endpoint=srv.url + "/v1/traces", headers={"X-Spanscope-Project": project}, compression=compression
        )
        self.exporter = RecordingExporter(exporter)
        # SimpleSpanProcessor: one export per ended span, in the order spans end.
        self.provider = TracerProvider(resource=Resource.create({"service.name": "otel-it"}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer: Tracer = self.provider.get_tracer("spanscope.tests", "1.2.3")
        self.client = spanscope.Client(srv.url, project=project)

    def close(self) -> None:
        self.provider.shutdown()
        assert self.exporter.results and all(r is SpanExportResult.SUCCESS for r in self.exporter.results)


@pytest.fixture
def otel(server: ServerThread) -> Iterator[Otel]:
    o = Otel(server, "otel")
    yield o
    o.close()


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def emit_genai_trace(tracer: Tracer, input_tokens: int) -> str:
    with tracer.start_as_current_span(
        "invoke_agent support", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
    ) as root:
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be kind."}]),
                "gen_ai.input.messages": _messages("user", "Where is my order?"),
                "gen_ai.output.messages": _messages("assistant", "It ships today."),
                "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": 7,
            },
        ) as llm:
            llm.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span(
            "execute_tool get_order",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_order",
                "gen_ai.tool.call.arguments": '{"order_id": 7}',
            },
        ) as tool:
            tool.set_status(Status(StatusCode.ERROR, "order service down"))
            tool.add_event("exception", {"exception.type": "TimeoutError", "exception.message": "slow"})
        return format(root.get_span_context().trace_id, "032x")


def emit_openinference_trace(tracer: Tracer, prompt_tokens: int) -> str:
    with tracer.start_as_current_span(
        "ChatCompletion",
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "Capital of France?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Paris.",
            "llm.token_count.prompt": prompt_tokens,
            "llm.token_count.completion": 2,
            "llm.token_count.total": prompt_tokens + 2,
            "session.id": "sess-1",
            "user.id": "user-1",
            "tag.tags": ["geo"],
        },
    ) as span:
        span.set_status(Status(StatusCode.OK))
        return format(span.get_span_context().trace_id, "032x")


def test_genai_semconv_spans_are_searchable_with_kind_io_status_and_tokens(otel: Otel) -> None:
    big = emit_genai_trace(otel.tracer, input_tokens=42)
    small = emit_genai_trace(otel.tracer, input_tokens=5)

    df = otel.client.search_traces(TOKEN_FILTER)
    assert list(df["trace_id"]) == [big]
    assert set(otel.client.search_traces("span.kind = 'llm'")["trace_id"]) == {big, small}

    trace = otel.client.get_trace(big)
    assert trace.name == "invoke_agent support"
    by_name = {s.name: s for s in trace.spans}
    agent, llm, tool = by_name["invoke_agent support"], by_name["chat gpt-4o"], by_name["execute_tool get_order"]
    assert agent.kind == "agent" and agent.parent_span_id is None
    assert llm.kind == "llm" and llm.status == "OK" and llm.parent_span_id == agent.span_id
    assert llm.inputs == {
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Where is my order?"}]
    }
    assert llm.outputs == {"messages": [{"role": "assistant", "content": "It ships today."}]}
    a = llm.attributes
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"], a["usage.total_tokens"]) == (42, 7, 49)
    assert a["otel.span_kind"] == "client"
    assert a["resource.service.name"] == "otel-it"
    assert (a["otel.scope.name"], a["otel.scope.version"]) == ("spanscope.tests", "1.2.3")
    assert a["gen_ai.input.messages"] == _messages("user", "Where is my order?")  # raw value kept
    assert tool.kind == "tool" and tool.inputs == {"order_id": 7}
    assert (tool.status, tool.status_message) == ("ERROR", "order service down")
    assert [e.name for e in tool.events] == ["exception"]
    assert trace.status == "UNSET"  # the root's own status, as the OTLP span carried it

    assert len(otel.client.search_traces("span.kind = 'tool' AND span.status = 'ERROR'")) == 2
    hits = otel.client.search_traces("span.attributes.gen_ai.provider.name = 'openai' AND span.duration_ms >= 0")
    assert len(hits) == 2


def test_openinference_spans_get_canonical_keys(otel: Otel) -> None:
    big = emit_openinference_trace(otel.tracer, prompt_tokens=25)
    emit_openinference_trace(otel.tracer, prompt_tokens=3)

    df = otel.client.search_traces(
        TOKEN_FILTER,
        extract_fields=[
            "span.inputs.messages[0].content",
            "span.outputs.messages[0].content",
            "span.attributes.usage.total_tokens",
        ],
    )
    assert list(df["trace_id"]) == [big]
    assert df["span.inputs.messages[0].content"].iloc[0] == "Capital of France?"
    assert df["span.outputs.messages[0].content"].iloc[0] == "Paris."
    assert df["span.attributes.usage.total_tokens"].iloc[0] == 27
    assert df["status"].iloc[0] == "OK"
    assert bool(df["tag.geo"].iloc[0]) is True

    trace = otel.client.get_trace(big)
    (span,) = trace.spans
    assert span.kind == "llm" and span.status == "OK"
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["llm.token_count.prompt"] == 25  # raw key kept beside the canonical one
    assert (trace.session_id, trace.user_id) == ("sess-1", "user-1")
    assert len(otel.client.search_traces("session.id = 'sess-1'")) == 2
    assert len(otel.client.search_traces("span.attributes.gen_ai.request.model = 'gpt-4o-mini'")) == 2


def test_evaluation_events_become_findings(otel: Otel) -> None:
    with otel.tracer.start_as_current_span("chat m", attributes={"gen_ai.operation.name": "chat"}) as span:
        span.add_event(
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "helpfulness",
                "gen_ai.evaluation.score.value": 0.9,
                "gen_ai.evaluation.explanation": "answered the question",
            },
        )
        trace_id = format(span.get_span_context().trace_id, "032x")
    df = otel.client.search_traces("finding.helpfulness > 0.5")
    assert list(df["trace_id"]) == [trace_id]
    (finding,) = otel.client.get_trace(trace_id).findings
    assert (finding.name, finding.value, finding.rationale) == ("helpfulness", 0.9, "answered the question")


def test_trace_from_pieces_children_first_root_minutes_later(otel: Otel) -> None:
    tracer = otel.tracer
    with tracer.start_as_current_span("other trace"):
        pass  # so that the project holds more than the trace under test
    root = tracer.start_span("agent.turn", start_time=T0)
    child = tracer.start_span("retrieve", context=set_span_in_context(root), start_time=T0 + MINUTE)
    grandchild = tracer.start_span(
        "chat m",
        context=set_span_in_context(child),
        start_time=T0 + MINUTE + 1000,
        attributes={"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 50},
    )
    trace_id = format(root.get_span_context().trace_id, "032x")

    grandchild.end(end_time=T0 + 2 * MINUTE)  # export 1
    df = otel.client.search_traces(TOKEN_FILTER)
    assert list(df["trace_id"]) == [trace_id]  # searchable before its root arrives
    child.end(end_time=T0 + 3 * MINUTE)  # export 2
    partial = otel.client.get_trace(trace_id)
    assert len(partial.spans) == 2 and partial.root_span is None

    root.set_status(Status(StatusCode.ERROR, "gave up"))
    root.end(end_time=T0 + 5 * MINUTE)  # export 3, "minutes later" in span time

    row = otel.client.search_traces("trace.name = 'agent.turn'")
    assert list(row["trace_id"]) == [trace_id]
    assert row["status"].iloc[0] == "ERROR"
    assert row["duration_ms"].iloc[0] == 5 * 60 * 1000
    trace = otel.client.get_trace(trace_id)
    assert (trace.name, trace.status, trace.start_time_ns, trace.end_time_ns) == (
        "agent.turn",
        "ERROR",
        T0,
        T0 + 5 * MINUTE,
    )
    assert len(trace.spans) == 3 and trace.root_span is not None and trace.root_span.name == "agent.turn"
    assert len(otel.client.search_traces(f"trace.id = '{trace_id}' AND trace.duration_ms > 200000")) == 1


def test_gzip_exports_and_project_from_resource_attribute(server: ServerThread) -> None:
    exporter = RecordingExporter(OTLPSpanExporter(endpoint=server.url + "/v1/traces", compression=Compression.Gzip))
    provider = TracerProvider(resource=Resource.create({"service.name": "x", "spanscope.project": "from-resource"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("hello", attributes={"k": 1}):
        pass
    provider.shutdown()
    assert exporter.results == [SpanExportResult.SUCCESS]
    assert len(spanscope.Client(server.url, project="from-resource").search_traces("trace.name = 'hello'")) == 1
    assert len(spanscope.Client(server.url, project="default").search_traces("trace.name = 'hello'")) == 0


def test_header_project_wins_over_resource_attribute(server: ServerThread) -> None:
    exporter = OTLPSpanExporter(endpoint=server.url + "/v1/traces", headers={"X-Spanscope-Project": "hdr"})
    provider = TracerProvider(resource=Resource.create({"spanscope.project": "res"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("hello"):
        pass
    provider.shutdown()
    assert len(spanscope.Client(server.url, project="hdr").search_traces("trace.name = 'hello'")) == 1
    assert len(spanscope.Client(server.url, project="res").search_traces()) == 0


def test_spanscope_sdk_otlp_exporter_round_trip(server: ServerThread) -> None:
    """The SDK's own OTLP/JSON exporter -> /v1/traces gives back what the SDK recorded."""
    from spanscope.sdk.otlp_export import OtlpJsonExporter

    spanscope.configure(exporter=OtlpJsonExporter(server.url, headers={"X-Spanscope-Project": "sdk-otlp"}))
    try:
        with spanscope.trace(
            "turn", tags={"tier": "gold", "score": 0.5}, metadata={"ab": {"arm": "b"}}, session_id="s", user_id="u"
        ) as t:
            t.set_inputs({"question": "hi"})
            with spanscope.span("db.lookup", kind="db") as s:
                s.set_attributes({"db.rows": 3})
            t.add_finding("helpful", True, rationale="yes")
            trace_id = t.trace_id
        assert spanscope.flush(timeout=10) is True
    finally:
        spanscope.shutdown()
    trace = spanscope.Client(server.url, project="sdk-otlp").get_trace(trace_id)
    by_name = {s.name: s for s in trace.spans}
    assert by_name["db.lookup"].kind == "db" and by_name["db.lookup"].attributes["db.rows"] == 3
    assert by_name["turn"].inputs == {"question": "hi"}
    assert (trace.session_id, trace.user_id) == ("s", "u")
    assert trace.tags == {"tier": "gold", "score": 0.5}
    assert trace.metadata == {"ab": {"arm": "b"}}
    (finding,) = trace.findings
    assert (finding.name, finding.value, finding.rationale) == ("helpful", True, "yes")
