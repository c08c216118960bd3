"""Foreign conventions mapped onto the model: one translator class per convention.

    span, findings, trace_info = translate_span(span)

Translators run in this order, each only if it ``matches`` the span, and the first to set a field wins
(see :mod:`spanscope.ingest.conventions.base`): spanscope's own keys (what the SDK's OTLP exporter sends),
Langfuse, MLflow, OpenInference, OpenLLMetry, GenAI semconv (current), GenAI semconv (legacy). Then every
``gen_ai.evaluation.result`` event becomes a finding and ``usage.total_tokens`` is derived from input +
output tokens when no source gave it. The raw attributes stay as they came; canonical keys (current GenAI
semconv names) are added beside them. ``docs/otlp.md`` has the full mapping.
"""

from __future__ import annotations

import logging

from spanscope.ingest.conventions.base import Translation, Translator, derive_total_tokens, roots_of
from spanscope.ingest.conventions.genai import GenAILegacy, GenAISemconv, evaluation_findings
from spanscope.ingest.conventions.langfuse import Langfuse
from spanscope.ingest.conventions.mlflow import MLflow
from spanscope.ingest.conventions.openinference import OpenInference
from spanscope.ingest.conventions.openllmetry import OpenLLMetry
from spanscope.ingest.conventions.spanscope import Spanscope
from spanscope.model import Finding, Span, TraceInfo

__all__ = [
    "TRANSLATE_ERROR_KEY",
    "TRANSLATORS",
    "GenAILegacy",
    "GenAISemconv",
    "Langfuse",
    "MLflow",
    "OpenInference",
    "OpenLLMetry",
    "Spanscope",
    "Translation",
    "Translator",
    "translate_span",
]

log = logging.getLogger("spanscope.ingest")

TRANSLATORS: tuple[Translator, ...] = (
    Spanscope(),
    Langfuse(),
    MLflow(),
    OpenInference(),
    OpenLLMetry(),
    GenAISemconv(),
    GenAILegacy(),
)
# Set on a span when a translator failed on it: the span is kept as decoded, the failure is visible.
TRANSLATE_ERROR_KEY = "spanscope.translate_error"


def translate_span(span: Span) -> tuple[Span, list[Finding], TraceInfo | None]:
    """Map a span's foreign-convention attributes onto the model, in place.

    Returns the same span (kind, inputs, outputs and canonical attribute keys filled in where the span
    had none), the findings from its ``gen_ai.evaluation.result`` events and the trace-level facts (session,
    user, tags, metadata) it carried, or None. Never raises: a translator that fails on odd values leaves
    the attribute ``spanscope.translate_error`` on the span and the others still run.

    >>> span, findings, info = translate_span(Span(..., attributes={"openinference.span.kind": "LLM", ...}))
    >>> span.kind
    'llm'
    """
    out = Translation(span)
    roots = roots_of(span)
    for translator in TRANSLATORS:
        try:
            if translator.matches(span, roots):
                translator.translate(span, out)
        except Exception as exc:  # noqa: BLE001 - a translation bug must not lose the span
            log.warning("%s translator failed on span %s: %r", translator.name, span.span_id, exc)
            span.attributes.setdefault(TRANSLATE_ERROR_KEY, f"{translator.name}: {exc!r}"[:500])
    try:
        if span.events:
            evaluation_findings(span, out)
        derive_total_tokens(span.attributes)
    except Exception as exc:  # noqa: BLE001 - same as above
        log.warning("evaluation findings failed on span %s: %r", span.span_id, exc)
        span.attributes.setdefault(TRANSLATE_ERROR_KEY, f"findings: {exc!r}"[:500])
    return span, out.findings, out.trace_info()
