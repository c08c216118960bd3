"""spanscope and OpenTelemetry spans nest in each other's traces, both ways (6c)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry import context as otel_context_api  # noqa: E402
from opentelemetry.propagate import inject  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from spanscope.sdk import otel_context, span, trace  # noqa: E402
from spanscope.sdk.runtime import RUNTIME  # noqa: E402
from spanscope.testing import CaptureExporter, capture  # noqa: E402


@pytest.fixture
def otel() -> Iterator[tuple[Any, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {s.name: s for s in exporter.get_finished_spans()}


def test_spanscope_span_inside_an_otel_span_is_its_child(otel: Any, cap: CaptureExporter) -> None:
    tracer, exporter = otel
    with tracer.start_as_current_span("otel-root") as root, span("ours") as ours, span("ours-child") as child:
        pass
    sc = root.get_span_context()
    assert ours.trace_id == f"{sc.trace_id:032x}" and ours.parent_span_id == f"{sc.span_id:016x}"
    assert child.parent_span_id == ours.span_id
    assert {s.name for s in cap.spans} == {"ours", "ours-child"}


def test_otel_span_inside_a_spanscope_span_is_its_child(otel: Any, cap: CaptureExporter) -> None:
    tracer, exporter = otel
    with trace("ours") as ours:
        with tracer.start_as_current_span("otel-child"):
            headers: dict[str, str] = {}
            inject(headers)  # W3C propagation continues the trace too
            with span("ours-grandchild") as grandchild:
                pass
        with span("ours-sibling") as sibling:
            pass
    otel_child = by_name(exporter)["otel-child"]
    assert f"{otel_child.context.trace_id:032x}" == ours.trace_id
    assert f"{otel_child.parent.span_id:016x}" == ours.span_id
    assert grandchild.trace_id == ours.trace_id
    assert grandchild.parent_span_id == f"{otel_child.context.span_id:016x}"
    assert sibling.parent_span_id == ours.span_id  # the OTel span ended: ours is innermost again
    assert headers["traceparent"].split("-")[1] == ours.trace_id
    tags_root = [s for s in cap.spans if s.parent_span_id is None]
    assert [s.name for s in tags_root] == ["ours"]


def test_otel_context_for_explicit_parenting(otel: Any, cap: CaptureExporter) -> None:
    tracer, exporter = otel
    with span("ours") as ours:
        ctx = otel_context()
    with tracer.start_as_current_span("later", context=ctx):
        pass
    assert f"{by_name(exporter)['later'].parent.span_id:016x}" == ours.span_id


def test_sampled_out_spanscope_parent_is_not_sampled_for_otel(otel: Any) -> None:
    from opentelemetry.trace import get_current_span

    from spanscope.sdk.runtime import set_id_sources

    tracer, _ = otel
    with capture(sample_rate=0.5):
        set_id_sources(lambda: (1 << 64) | 0xFFFF_FFFF_FFFF_FFFF)
        with span("dropped"):
            assert not get_current_span().get_span_context().trace_flags.sampled


def test_without_spanscope_spans_otel_is_untouched(otel: Any, cap: CaptureExporter) -> None:
    tracer, exporter = otel
    before = otel_context_api.get_current()
    with tracer.start_as_current_span("a"), tracer.start_as_current_span("b"):
        pass
    spans = by_name(exporter)
    assert spans["b"].parent.span_id == spans["a"].context.span_id
    assert otel_context_api.get_current() == before
    assert RUNTIME.otel  # installed (opentelemetry was imported)


def test_bridge_off_by_configuration(otel: Any) -> None:
    from spanscope.sdk import configure

    tracer, _ = otel
    saved = RUNTIME.otel
    try:
        RUNTIME.otel = None
        configure(exporter=CaptureExporter(), otel_bridge=False)
        assert RUNTIME.otel is False
        with tracer.start_as_current_span("otel-root"), span("ours") as ours:
            assert ours.parent_span_id is None  # not adopted
    finally:
        RUNTIME.otel = saved
