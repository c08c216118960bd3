"""OpenTelemetry spans into spanscope: add :class:`SpanProcessor` to any OTel ``TracerProvider``.

    from opentelemetry.sdk.trace import TracerProvider
    import spanscope
    from spanscope.otel import SpanProcessor

    spanscope.configure(project="support-bot")
    provider = TracerProvider()
    provider.add_span_processor(SpanProcessor())

Every span any OTel instrumentation ends (OpenInference, OpenLLMetry, GenAI semantic conventions, plain
OTel) is converted (``spanscope.sdk.otel.span_from_otel``), mapped onto spanscope's model by the same
convention translators the server applies to OTLP (``spanscope.ingest.conventions``: kind, inputs/outputs,
canonical token and model keys, session/user, findings from ``gen_ai.evaluation.result`` events) and
queued into the configured spanscope pipeline, with its sampling, batching and drop counters. Before
``spanscope.configure()`` it does nothing.

This module is imported only by applications that use OpenTelemetry (``import spanscope`` doesn't load
it); the processor subclasses OTel's own ``SpanProcessor`` when ``opentelemetry-sdk`` is installed.
"""

from __future__ import annotations

from typing import Any

from spanscope.ingest.conventions import translate_span
from spanscope.sdk import flush, handle_internal_errors, submit_model
from spanscope.sdk.otel import span_from_otel
from spanscope.sdk.runtime import RUNTIME

try:
    from opentelemetry.sdk.trace import SpanProcessor as _OtelSpanProcessor
except ImportError:  # another OTel SDK implementation: the processor interface is duck-typed
    _OtelSpanProcessor = object  # type: ignore[assignment,misc]

__all__ = ["SpanProcessor"]


class SpanProcessor(_OtelSpanProcessor):
    """An OpenTelemetry span processor that records every ended span in spanscope.

    ``force_flush`` flushes spanscope's pipeline; ``shutdown`` leaves it running (``spanscope.shutdown()``
    and the exit hook own it).
    """

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def _on_ending(self, span: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        # Runs on the thread that ended the OTel span: never let a conversion bug reach it.
        if RUNTIME.processor is None:
            return  # spanscope isn't configured: skip the conversion too
        with handle_internal_errors():
            record = span_from_otel(span)
            if record is None:
                return
            record, findings, trace_info = translate_span(record)
            submit_model(record)
            for finding in findings:
                submit_model(finding)
            if trace_info is not None:
                submit_model(trace_info)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return flush(timeout_millis / 1000)
