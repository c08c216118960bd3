"""MLflow tracing attributes, as MLflow's OTLP export sends them (values are JSON text).

``mlflow.spanType`` (``"LLM"``, ``"CHAT_MODEL"``, ``"RETRIEVER"``…) gives the kind; ``mlflow.spanInputs`` /
``mlflow.spanOutputs`` the inputs/outputs; ``mlflow.chat.tokenUsage`` (``{"input_tokens", "output_tokens",
"total_tokens"}``) the canonical token keys; ``mlflow.llm.model`` the request model.
"""

from __future__ import annotations

from collections.abc import Set

from spanscope.ingest.conventions.base import Translation, Translator, as_str, parse_json
from spanscope.model import Span
from spanscope.model.conventions import (
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    USAGE_TOTAL_TOKENS,
)

SPAN_TYPES: dict[str, str] = {
    "LLM": "llm",
    "CHAT_MODEL": "llm",
    "CHAIN": "chain",
    "AGENT": "agent",
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "EMBEDDING": "embedding",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
    "PARSER": "other",
    "MEMORY": "other",
    "UNKNOWN": "other",
}


class MLflow(Translator):
    name = "mlflow"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        a = span.attributes
        return "mlflow" in roots and ("mlflow.spanType" in a or "mlflow.spanInputs" in a or "mlflow.spanOutputs" in a)

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        span_type = parse_json(a.get("mlflow.spanType"))
        out.set_kind(SPAN_TYPES.get(span_type.upper()) if isinstance(span_type, str) else None)
        out.set_inputs(parse_json(a.get("mlflow.spanInputs")))
        out.set_outputs(parse_json(a.get("mlflow.spanOutputs")))
        usage = parse_json(a.get("mlflow.chat.tokenUsage"))
        if isinstance(usage, dict):
            out.set_int_attr(GEN_AI_USAGE_INPUT_TOKENS, usage.get("input_tokens"))
            out.set_int_attr(GEN_AI_USAGE_OUTPUT_TOKENS, usage.get("output_tokens"))
            out.set_int_attr(USAGE_TOTAL_TOKENS, usage.get("total_tokens"))
        out.set_attr(GEN_AI_REQUEST_MODEL, as_str(parse_json(a.get("mlflow.llm.model"))))
