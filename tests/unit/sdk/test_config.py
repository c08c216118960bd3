from __future__ import annotations

import asyncio
import itertools

import pytest

import spanscope.sdk
from spanscope.sdk import (
    HttpExporter,
    NoOpSpan,
    configure,
    current_span,
    flush,
    get_config,
    observe,
    set_clock,
    shutdown,
    span,
    stats,
    trace,
)
from spanscope.sdk.runtime import RUNTIME
from spanscope.testing import CaptureExporter, capture


def test_public_names_are_pinned() -> None:
    assert sorted(spanscope.sdk.__all__) == [
        "BatchProcessor", "ConsoleExporter", "ContextExecutor", "ExportBatch", "FanoutExporter", "HttpExporter",
        "NoOpSpan", "Span", "SpanExporter", "TailSampling", "TraceSpan", "configure", "current_span", "flush",
        "get_config", "handle_internal_errors", "observe", "otel_context", "set_clock", "shutdown", "span",
        "stats", "submit_model", "trace", "wrap", "wrap_executor",
    ]  # fmt: skip
    for name in spanscope.sdk.__all__:
        assert getattr(spanscope.sdk, name) is not None


def test_everything_is_a_cheap_noop_before_configure() -> None:
    @observe
    def f(x: int) -> int:
        return x + 1

    with trace("t", tags={"a": 1}) as t, span("s", kind="llm") as s:
        assert isinstance(t, NoOpSpan) and isinstance(s, NoOpSpan)
        assert t.trace_id is None and s.span_id is None and not s.is_recording
        assert current_span() is None
        for handle in (t, s):
            handle.set_inputs(1)
            handle.set_outputs(2)
            handle.set_attribute("k", "v")
            handle.set_attributes({"k": "v"})
            handle.add_event("e", {"a": 1})
            handle.set_status("ERROR", "m")
            handle.add_finding("f", 1.0, source="human", rationale="r", metadata={})
            handle.set_tag("k", 1)
            handle.set_tags({"k": 1})
        t.set_metadata("k", 1)
        assert f(1) == 2

    async def in_async() -> None:
        async with span("a") as a:
            assert not a.is_recording

    asyncio.run(in_async())
    with pytest.raises(ValueError), span("x"):  # exceptions still propagate
        raise ValueError
    assert flush() is True and shutdown() is True
    assert stats()["spans_started"] == 0


def test_disabled_via_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_DISABLED", "1")
    exporter = CaptureExporter()
    configure(exporter=exporter)
    with span("x") as s:
        assert not s.is_recording
    assert flush() is True and exporter.spans == []
    assert get_config()["disabled"] is True
    configure(exporter=exporter, disabled=False)  # an argument beats the environment
    with span("y") as s:
        assert s.is_recording


def test_config_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_config()["endpoint"] == "http://127.0.0.1:8417"  # never configured: what configure would use
    assert get_config()["project"] == "default"
    monkeypatch.setenv("SPANSCOPE_ENDPOINT", "http://env-host:9000/")
    monkeypatch.setenv("SPANSCOPE_PROJECT", "env-project")
    monkeypatch.setenv("SPANSCOPE_API_KEY", "env-key")
    monkeypatch.setenv("SPANSCOPE_BATCH_SIZE", "7")
    configure(project="arg-project", exporter=CaptureExporter())
    config = get_config()
    assert (config["endpoint"], config["project"], config["api_key"]) == (
        "http://env-host:9000",
        "arg-project",
        "env-key",
    )
    assert RUNTIME.processor is not None and RUNTIME.processor.batch_size == 7


def test_configure_builds_an_http_exporter_by_default() -> None:
    configure(endpoint="http://127.0.0.1:1", api_key="k", project="p", flush_interval=60)
    assert RUNTIME.processor is not None
    exporter = RUNTIME.processor.exporter
    assert isinstance(exporter, HttpExporter) and exporter.endpoint == "http://127.0.0.1:1"
    shutdown(timeout=0)


def test_set_clock() -> None:
    ticks = itertools.count(start=5_000, step=1_000)
    set_clock(lambda: next(ticks))
    exporter = CaptureExporter()
    configure(exporter=exporter)
    with span("outer"), span("inner") as inner:
        inner.add_event("tick")
    set_clock(None)
    assert flush(timeout=5) is True
    inner_rec, outer_rec = exporter.spans
    assert (outer_rec.start_time_ns, inner_rec.start_time_ns) == (5_000, 6_000)
    assert inner_rec.events[0].time_ns == 7_000
    assert (inner_rec.end_time_ns, outer_rec.end_time_ns) == (8_000, 9_000)
    with span("real") as s:
        assert s.start_time_ns is not None and s.start_time_ns > 1_600_000_000 * 10**9
    with pytest.raises(TypeError):
        set_clock(42)  # type: ignore[arg-type]


def test_capture_restores_the_previous_configuration() -> None:
    outer = CaptureExporter()
    configure(exporter=outer)
    previous = RUNTIME.processor
    with capture() as inner:
        with span("captured") as s:
            assert s.trace_id == f"{1:032x}"
        assert [x.name for x in inner.spans] == ["captured"]
    assert RUNTIME.processor is previous
    with span("outer") as s:
        assert s.trace_id != f"{1:032x}"
    assert flush(timeout=5) is True
    assert [x.name for x in outer.spans] == ["outer"]


def test_a_bad_endpoint_disables_the_sdk_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    configure(endpoint="ftp://nowhere")
    assert RUNTIME.processor is None and get_config()["disabled"] is True
    assert "spanscope is disabled" in caplog.text
    with span("x") as s:
        assert not s.is_recording
