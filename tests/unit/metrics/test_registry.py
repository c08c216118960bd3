"""The registry on its own: batches in, exposition out, parsed with prometheus-client's parsers."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from spanscope.ingest.native import IngestBatch, Rejection
from spanscope.metrics import MetricsConfig, MetricsRegistry, render
from spanscope.model import Event, Finding, Span, TraceInfo

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def tid(n: int) -> str:
    return f"{n:032x}"


def sid(n: int) -> str:
    return f"{n:016x}"


def span(n: int, name: str, ms: float, *, trace: int = 1, parent: int | None = None, **kw: object) -> Span:
    return Span(
        trace_id=tid(trace),
        span_id=sid(n),
        parent_span_id=sid(parent) if parent else None,
        name=name,
        start_time_ns=T0,
        end_time_ns=T0 + int(ms * MS),
        **kw,  # type: ignore[arg-type]
    )


def samples(registry: MetricsRegistry, project: str | None = None) -> dict[tuple[str, frozenset], float]:
    body, _ = render(registry, project, None)
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(data: dict, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in data.items() if n == name and want <= ls)


def chatbot_batch() -> IngestBatch:
    model = {"gen_ai.request.model": "gpt-4o"}
    return IngestBatch(
        spans=[
            span(
                2,
                "llm.generate",
                800,
                parent=1,
                kind="llm",
                attributes={
                    **model,
                    "gen_ai.usage.input_tokens": 100,
                    "gen_ai.usage.output_tokens": 20,
                    "spanscope.cost_usd": 0.01,
                    "gen_ai.server.time_to_first_token": 0.25,
                },
            ),
            span(
                3,
                "llm.generate",
                1200,
                parent=1,
                kind="llm",
                status="ERROR",
                attributes={**model, "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 5},
                events=[
                    Event(name="gen_ai.first_token", time_ns=T0 + 400 * MS),
                    Event(name="exception", time_ns=T0 + 1000 * MS, attributes={"exception.type": "TimeoutError"}),
                ],
            ),
            span(4, "db.query", 30, parent=1, kind="db"),
            # The root carries roll-ups (total tokens, cost) that must not be counted a second time.
            span(1, "chatbot.turn", 2500, attributes={**model, "spanscope.cost_usd": 0.5, "usage.total_tokens": 175}),
        ],
        traces=[TraceInfo(trace_id=tid(1), tags={"quality_score": 0.4, "other": 3})],
        findings=[
            Finding(trace_id=tid(1), name="helpful", value=True, source="human", time_ns=T0),
            Finding(trace_id=tid(1), name="relevance", value=0.5, source="llm", time_ns=T0),
            Finding(trace_id=tid(1), name="label", value="off-topic", time_ns=T0),
        ],
        rejected=[Rejection("span", 4, "bad"), Rejection("finding", 0, "bad")],
        sdk_stats={"dropped": {"queue_full": 3, "export_failed": 0}, "sdk": "spanscope-python"},
    )


def test_counts_histograms_tokens_cost_from_one_batch() -> None:
    reg = MetricsRegistry(config=MetricsConfig(top_n=10, max_projects=10, tags=("quality_score",)))
    reg.on_ingest("p", chatbot_batch())
    d = samples(reg)
    assert value(d, "spanscope_spans_total", project="p") == 4
    assert (
        value(d, "spanscope_spans_total", span_name="llm.generate", span_kind="llm", gen_ai_request_model="gpt-4o") == 2
    )
    assert value(d, "spanscope_span_errors_total", span_name="llm.generate") == 1
    assert value(d, "spanscope_span_duration_seconds_count", span_name="llm.generate") == 2
    assert abs(value(d, "spanscope_span_duration_seconds_sum", span_name="llm.generate") - 2.0) < 1e-9
    assert value(d, "spanscope_span_duration_seconds_bucket", span_name="llm.generate", le="1.0") == 1
    assert value(d, "spanscope_traces_total", trace_name="chatbot.turn") == 1
    assert value(d, "spanscope_trace_errors_total") == 0
    assert abs(value(d, "spanscope_trace_duration_seconds_sum") - 2.5) < 1e-9
    # Model calls only: the root's roll-ups are not counted again.
    assert value(d, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", gen_ai_request_model="gpt-4o") == 150
    assert value(d, "gen_ai_client_token_usage_sum", gen_ai_token_type="output") == 25
    assert value(d, "gen_ai_client_token_usage_count", gen_ai_token_type="input") == 2
    assert abs(value(d, "spanscope_cost_usd_total", gen_ai_request_model="gpt-4o") - 0.01) < 1e-12
    assert value(d, "gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name="chat") == 2
    assert value(d, "gen_ai_client_operation_duration_seconds_count", error_type="TimeoutError") == 1
    # TTFT from the attribute (0.25 s) and from the event (0.4 s after the start).
    assert value(d, "gen_ai_server_time_to_first_token_seconds_count") == 2
    assert abs(value(d, "gen_ai_server_time_to_first_token_seconds_sum") - 0.65) < 1e-9
    assert value(d, "spanscope_findings_total", finding_name="label") == 1
    assert value(d, "spanscope_finding_value_count") == 2  # the string-valued finding has no number
    assert value(d, "spanscope_finding_value_sum", finding_name="helpful") == 1.0
    assert value(d, "spanscope_tag_value_sum", tag="quality_score") == 0.4
    assert value(d, "spanscope_tag_value_count", tag="other") == 0  # not in metrics_tags
    assert value(d, "spanscope_ingested_items_total", kind="span") == 4
    assert value(d, "spanscope_ingested_items_total", kind="finding") == 3
    assert value(d, "spanscope_ingest_rejected_items_total", kind="span") == 1
    assert value(d, "spanscope_sdk_dropped_total", reason="queue_full", sdk="spanscope-python") == 3
    assert value(d, "spanscope_sdk_dropped_total", reason="export_failed") == 0


def test_a_project_sees_only_its_series() -> None:
    reg = MetricsRegistry(config=MetricsConfig(top_n=10, max_projects=10, tags=()))
    reg.on_ingest("a", chatbot_batch())
    reg.on_ingest("b", IngestBatch(spans=[span(9, "other.op", 5, trace=2)]))
    only_b = samples(reg, "b")
    assert {dict(ls).get("project") for (_, ls) in only_b if dict(ls).get("project")} == {"b"}
    assert value(only_b, "spanscope_spans_total") == 1
    assert value(samples(reg), "spanscope_spans_total") == 5


def test_cardinality_is_bounded_per_project() -> None:
    reg = MetricsRegistry(config=MetricsConfig(top_n=3, max_projects=2, tags=()))
    reg.on_ingest("p", IngestBatch(spans=[span(i + 1, f"op-{i}", 1, trace=i + 1) for i in range(10)]))
    reg.on_ingest("q", IngestBatch(spans=[span(1, "op-x", 1)]))
    reg.on_ingest("r", IngestBatch(spans=[span(1, "op-y", 1)]))  # a third project: folded into _other
    d = samples(reg)
    names = {dict(ls)["span_name"] for (n, ls) in d if n == "spanscope_spans_total" and dict(ls)["project"] == "p"}
    assert names == {"op-0", "op-1", "op-2", "other"}
    assert value(d, "spanscope_spans_total", project="p", span_name="other") == 7
    assert value(d, "spanscope_spans_total", project="_other") == 1
    assert value(d, "spanscope_metrics_label_overflow_total", project="p", label="span_name") == 7
    assert value(d, "spanscope_metrics_label_overflow_total", label="project") == 1
    # No trace id is ever a label value.
    assert not any(tid(1) in v for (_, ls) in d for _, v in ls)


def test_openmetrics_carries_trace_id_exemplars() -> None:
    reg = MetricsRegistry(config=MetricsConfig(top_n=10, max_projects=10, tags=("quality_score",)))
    reg.on_ingest("p", chatbot_batch())
    body, content_type = render(reg, None, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    exemplars = [
        s.exemplar
        for fam in parse_openmetrics(body.decode())
        for s in fam.samples
        if s.exemplar is not None and s.name == "spanscope_span_duration_seconds_bucket"
    ]
    assert exemplars and all(e.labels["trace_id"] == tid(1) for e in exemplars)
    text, plain = render(reg, None, "text/plain")
    assert plain.startswith("text/plain") and b"trace_id" not in text


def test_non_numeric_and_odd_values_are_ignored_not_fatal() -> None:
    reg = MetricsRegistry(config=MetricsConfig(top_n=10, max_projects=10, tags=("q",)))
    batch = IngestBatch(
        spans=[
            span(1, "llm", 10, kind="llm", attributes={"gen_ai.usage.input_tokens": "12", "spanscope.cost_usd": "x"})
        ],
        traces=[TraceInfo(trace_id=tid(1), tags={"q": "not a number"})],
        sdk_stats={"dropped": "garbage"},
    )
    reg.on_ingest("p", batch)
    d = samples(reg)
    assert value(d, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == 12
    assert value(d, "spanscope_cost_usd_total") == 0
    assert value(d, "spanscope_tag_value_count") == 0
