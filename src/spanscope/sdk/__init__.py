"""The tracing SDK: record spans in the application, send them in the background.

    import spanscope

    spanscope.configure(endpoint="http://127.0.0.1:8417", project="chatbot")

    @spanscope.observe(kind="tool")
    def get_order(order_id: str) -> dict: ...

    with spanscope.trace("chatbot.turn", tags={"channel": "web"}) as t:
        get_order("A1")
        t.add_finding("helpful", True, source="human")

Before ``configure()`` (or with ``SPANSCOPE_DISABLED=1``) ``trace()``, ``span()`` and ``@observe`` are
cheap no-ops whose handles have ``trace_id``/``span_id`` None. This package imports only the standard
library, ``spanscope.model``, ``spanscope.settings`` and msgspec (OpenTelemetry only lazily, when it is
already imported by the application). The user guide is ``docs/sdk.md``.

Modules: ``spans`` (the handles), ``observe`` (the decorator), ``runtime`` (context, clock, ids),
``context`` (threads and executors), ``otel_bridge`` (the OpenTelemetry context bridge), ``processor``
(queue + worker), ``encode`` (records → wire, on the worker), ``redaction``, ``sampling``, ``exporters``
and ``transport`` (HTTP), ``guard`` (the internal-error guard), ``config`` (``configure`` and friends).
"""

from __future__ import annotations

from spanscope.sdk.config import configure, flush, get_config, shutdown, stats, submit_model
from spanscope.sdk.context import ContextExecutor, wrap, wrap_executor
from spanscope.sdk.exporters import ConsoleExporter, ExportBatch, FanoutExporter, SpanExporter
from spanscope.sdk.guard import handle_internal_errors
from spanscope.sdk.observe import observe
from spanscope.sdk.otel_bridge import otel_context
from spanscope.sdk.processor import BatchProcessor
from spanscope.sdk.runtime import current_span, set_clock
from spanscope.sdk.sampling import TailSampling
from spanscope.sdk.spans import NoOpSpan, Span, TraceSpan, span, trace
from spanscope.sdk.transport import HttpExporter

__all__ = [
    "BatchProcessor",
    "ConsoleExporter",
    "ContextExecutor",
    "ExportBatch",
    "FanoutExporter",
    "HttpExporter",
    "NoOpSpan",
    "Span",
    "SpanExporter",
    "TailSampling",
    "TraceSpan",
    "configure",
    "current_span",
    "flush",
    "get_config",
    "handle_internal_errors",
    "observe",
    "otel_context",
    "set_clock",
    "shutdown",
    "span",
    "stats",
    "submit_model",
    "trace",
    "wrap",
    "wrap_executor",
]
