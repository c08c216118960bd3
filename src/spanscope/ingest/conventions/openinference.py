"""OpenInference (Arize Phoenix) semantic conventions.

``openinference.span.kind`` gives the kind; flattened ``llm.input_messages.N.message.*`` /
``llm.output_messages.N.message.*`` are re-nested into message lists; ``input.value`` / ``output.value`` are
parsed when their ``*.mime_type`` is JSON; ``retrieval.documents.N.document.*`` become the retriever's output
documents; ``llm.token_count.*``, ``llm.model_name``, ``llm.provider`` / ``llm.system``, ``llm.cost.total``,
``llm.invocation_parameters`` and ``tool.*`` get their canonical GenAI keys; ``session.id``, ``user.id``,
``metadata`` (JSON) and ``tag.tags`` go to the trace.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from spanscope.ingest.conventions.base import (
    Translation,
    Translator,
    as_float,
    as_str,
    parse_by_mime,
    parse_json,
    unflatten,
)
from spanscope.ingest.conventions.messages import openinference_messages
from spanscope.model import Span
from spanscope.model.conventions import (
    COST_USD,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    USAGE_TOTAL_TOKENS,
)

SPAN_KINDS: dict[str, str] = {
    "LLM": "llm",
    "CHAIN": "chain",
    "TOOL": "tool",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "EMBEDDING": "embedding",
    "AGENT": "agent",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
    "PROMPT": "chain",
    "UNKNOWN": "other",
}
_OPERATIONS = {"llm": "chat", "embedding": "embeddings", "tool": "execute_tool", "agent": "invoke_agent"}
_TOKEN_KEYS = (
    ("llm.token_count.prompt", GEN_AI_USAGE_INPUT_TOKENS),
    ("llm.token_count.completion", GEN_AI_USAGE_OUTPUT_TOKENS),
    ("llm.token_count.total", USAGE_TOTAL_TOKENS),
    ("llm.token_count.prompt_details.cache_read", "gen_ai.usage.cache_read.input_tokens"),
    ("llm.token_count.prompt_details.cache_write", "gen_ai.usage.cache_creation.input_tokens"),
)
# llm.invocation_parameters key -> canonical key, and whether the value is a float (else an int)
_PARAMS = (
    ("temperature", "gen_ai.request.temperature", True),
    ("top_p", "gen_ai.request.top_p", True),
    ("max_tokens", "gen_ai.request.max_tokens", False),
    ("max_completion_tokens", "gen_ai.request.max_tokens", False),
    ("seed", "gen_ai.request.seed", False),
)


def _documents(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    docs = []
    for item in value:
        doc = item.get("document", item) if isinstance(item, dict) else None
        if isinstance(doc, dict):
            doc = dict(doc)
            if "metadata" in doc:
                doc["metadata"] = parse_json(doc["metadata"])
            docs.append(doc)
    return docs or None


class OpenInference(Translator):
    name = "openinference"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        a = span.attributes
        return (
            "openinference.span.kind" in a
            or "llm.model_name" in a
            or "input.value" in a
            or "output.value" in a
            or "llm.token_count.prompt" in a
            or "session.id" in a
            or "user.id" in a
            or "tag.tags" in a
        )

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        raw_kind = a.get("openinference.span.kind")
        kind = SPAN_KINDS.get(raw_kind.upper()) if isinstance(raw_kind, str) else None
        if kind is None and ("llm.input_messages.0.message.role" in a or "llm.model_name" in a):
            kind = "llm"
        out.set_kind(kind)
        if kind in _OPERATIONS:
            out.set_attr(GEN_AI_OPERATION_NAME, _OPERATIONS[kind])

        # inputs / outputs
        if kind == "llm":
            msgs = openinference_messages(unflatten(a, "llm.input_messages"))
            if msgs:
                out.set_inputs({"messages": msgs})
            msgs = openinference_messages(unflatten(a, "llm.output_messages"))
            if msgs:
                out.set_outputs({"messages": msgs})
        elif kind == "retriever":
            docs = _documents(unflatten(a, "retrieval.documents"))
            if docs is None and raw_kind == "RERANKER":
                docs = _documents(unflatten(a, "reranker.output_documents"))
            if docs is not None:
                out.set_outputs({"documents": docs})
        elif kind == "embedding":
            embeddings = unflatten(a, "embedding.embeddings")
            if isinstance(embeddings, list):
                texts = [
                    e["embedding"].get("text")
                    for e in embeddings
                    if isinstance(e, dict) and isinstance(e.get("embedding"), dict)
                ]
                if any(t is not None for t in texts):
                    out.set_inputs({"texts": texts})
            out.set_attr(GEN_AI_REQUEST_MODEL, as_str(a.get("embedding.model_name")))
        # input.value of an LLM span is the whole request: parse it only when nothing better was found
        if span.inputs is None:
            out.set_inputs(parse_by_mime(a.get("input.value"), a.get("input.mime_type")))
        if span.outputs is None:
            out.set_outputs(parse_by_mime(a.get("output.value"), a.get("output.mime_type")))

        # canonical keys (each looked up first: most spans carry few of them, and this runs for every span)
        if (v := a.get("llm.model_name")) is not None:
            out.set_attr(GEN_AI_REQUEST_MODEL, as_str(v))
        if "llm.provider" in a or "llm.system" in a:
            out.set_attr(GEN_AI_PROVIDER_NAME, as_str(a.get("llm.provider")) or as_str(a.get("llm.system")))
        for src, dst in _TOKEN_KEYS:
            if (v := a.get(src)) is not None:
                out.set_int_attr(dst, v)
        if (v := a.get("llm.cost.total")) is not None:
            out.set_attr(COST_USD, as_float(v))
        params = a.get("llm.invocation_parameters")
        if params is not None and isinstance(params := parse_json(params), dict):
            for src, dst, is_float in _PARAMS:
                if is_float:
                    out.set_attr(dst, as_float(params.get(src)))
                else:
                    out.set_int_attr(dst, params.get(src))
        if kind == "tool":
            out.set_attr("gen_ai.tool.name", as_str(a.get("tool.name")))
            out.set_attr("gen_ai.tool.description", as_str(a.get("tool.description")))
            out.set_attr("gen_ai.tool.call.id", as_str(a.get("tool_call.id")))
        if kind == "agent":
            out.set_attr("gen_ai.agent.name", as_str(a.get("agent.name")))

        # trace-level facts
        if (v := a.get("session.id")) is not None:
            out.set_session(v)
        if (v := a.get("user.id")) is not None:
            out.set_user(v)
        if (v := a.get("metadata")) is not None:
            out.add_metadata(v)
        if (v := a.get("tag.tags")) is not None:
            out.add_tags(v)
