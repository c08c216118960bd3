"""Names shared by every layer: span kinds, statuses, finding sources and canonical attribute keys."""

from __future__ import annotations

from typing import Final, Literal

SpanKind = Literal[
    "llm", "tool", "retriever", "embedding", "chain", "agent", "db", "http", "guardrail", "evaluator", "other"
]
SPAN_KINDS: Final = (
    "llm",
    "tool",
    "retriever",
    "embedding",
    "chain",
    "agent",
    "db",
    "http",
    "guardrail",
    "evaluator",
    "other",
)

Status = Literal["OK", "ERROR", "UNSET"]
STATUSES: Final = ("OK", "ERROR", "UNSET")

FindingSource = Literal["code", "human", "llm"]
FINDING_SOURCES: Final = ("code", "human", "llm")

# Canonical attribute keys (current OpenTelemetry GenAI semantic conventions where they exist).
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_TOTAL_TOKENS: Final = "usage.total_tokens"
COST_USD: Final = "spanscope.cost_usd"

# The exception event, as OpenTelemetry records it.
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
