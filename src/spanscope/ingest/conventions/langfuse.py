"""Langfuse attributes (the Langfuse OTel-based SDKs and its OTLP endpoint's documented keys).

``langfuse.observation.type`` (generation, span, agent, tool, chain, retriever, embedding, evaluator,
guardrail, event) gives the kind; ``langfuse.observation.input`` / ``output`` (JSON) the inputs/outputs, falling
back to ``langfuse.trace.input`` / ``output``; ``langfuse.observation.model.name`` the request model;
``langfuse.observation.usage_details`` (``{"input", "output", "total"}`` or OpenAI-style names) the token
keys; ``langfuse.observation.cost_details.total`` the cost; ``langfuse.trace.tags`` / ``user.id`` /
``session.id`` / ``metadata.*`` go to the trace.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from spanscope.ingest.conventions.base import Translation, Translator, as_float, as_str, parse_json
from spanscope.model import Span
from spanscope.model.conventions import (
    COST_USD,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    USAGE_TOTAL_TOKENS,
)

OBSERVATION_TYPES: dict[str, str] = {
    "generation": "llm",
    "embedding": "embedding",
    "agent": "agent",
    "tool": "tool",
    "chain": "chain",
    "retriever": "retriever",
    "evaluator": "evaluator",
    "guardrail": "guardrail",
    "span": "chain",
    "event": "other",
}
_USAGE_KEYS = (
    (GEN_AI_USAGE_INPUT_TOKENS, ("input", "input_tokens", "prompt_tokens")),
    (GEN_AI_USAGE_OUTPUT_TOKENS, ("output", "output_tokens", "completion_tokens")),
    (USAGE_TOTAL_TOKENS, ("total", "total_tokens")),
)
_TRACE_METADATA = "langfuse.trace.metadata."


def _first(d: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((d[k] for k in keys if k in d), None)


class Langfuse(Translator):
    name = "langfuse"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        return "langfuse" in roots

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        obs_type = a.get("langfuse.observation.type")
        out.set_kind(OBSERVATION_TYPES.get(obs_type.lower()) if isinstance(obs_type, str) else None)
        out.set_inputs(parse_json(a.get("langfuse.observation.input")))
        out.set_outputs(parse_json(a.get("langfuse.observation.output")))
        out.set_inputs(parse_json(a.get("langfuse.trace.input")))
        out.set_outputs(parse_json(a.get("langfuse.trace.output")))
        out.set_attr(GEN_AI_REQUEST_MODEL, as_str(a.get("langfuse.observation.model.name")))
        usage = parse_json(a.get("langfuse.observation.usage_details"))
        if isinstance(usage, dict):
            for dst, keys in _USAGE_KEYS:
                out.set_int_attr(dst, _first(usage, keys))
        cost = parse_json(a.get("langfuse.observation.cost_details"))
        if isinstance(cost, dict):
            out.set_attr(COST_USD, as_float(cost.get("total")))
        out.set_user(a.get("langfuse.trace.user.id", a.get("langfuse.user.id")))
        out.set_session(a.get("langfuse.trace.session.id", a.get("langfuse.session.id")))
        out.add_tags(a.get("langfuse.trace.tags"))
        out.add_metadata(a.get("langfuse.trace.metadata"))
        for key, value in a.items():
            if key.startswith(_TRACE_METADATA):
                out.add_metadata({key[len(_TRACE_METADATA) :]: parse_json(value)})
