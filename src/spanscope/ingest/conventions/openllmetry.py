"""OpenLLMetry (Traceloop) conventions.

``traceloop.span.kind`` (workflow, task, agent, tool) and ``llm.request.type`` (chat, completion, embedding,
rerank) give the kind; ``traceloop.entity.input`` / ``traceloop.entity.output`` (JSON) the inputs/outputs;
``llm.usage.total_tokens`` the total; ``traceloop.entity.name`` names the agent or tool;
``traceloop.workflow.name`` and ``traceloop.association.properties.*`` go to the trace's metadata (with
``session_id`` / ``user_id`` properties as the trace's session and user). LLM spans carry GenAI attributes,
current or legacy (``gen_ai.prompt.N.*``), which the GenAI translators read.
"""

from __future__ import annotations

from collections.abc import Set

from spanscope.ingest.conventions.base import Translation, Translator, as_str, parse_json
from spanscope.model import Span
from spanscope.model.conventions import USAGE_TOTAL_TOKENS

SPAN_KINDS: dict[str, str] = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}
REQUEST_TYPES: dict[str, str] = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "retriever"}
_ASSOCIATION = "traceloop.association.properties."


class OpenLLMetry(Translator):
    name = "openllmetry"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        a = span.attributes
        return "traceloop" in roots or "llm.request.type" in a or "llm.usage.total_tokens" in a

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        raw_kind = a.get("traceloop.span.kind")
        kind = SPAN_KINDS.get(raw_kind) if isinstance(raw_kind, str) else None
        if kind is None:
            request_type = a.get("llm.request.type")
            kind = REQUEST_TYPES.get(request_type) if isinstance(request_type, str) else None
        out.set_kind(kind)
        out.set_inputs(parse_json(a.get("traceloop.entity.input")))
        out.set_outputs(parse_json(a.get("traceloop.entity.output")))
        out.set_int_attr(USAGE_TOTAL_TOKENS, a.get("llm.usage.total_tokens"))
        entity = as_str(a.get("traceloop.entity.name"))
        if kind == "agent":
            out.set_attr("gen_ai.agent.name", entity)
        elif kind == "tool":
            out.set_attr("gen_ai.tool.name", entity)
        workflow = as_str(a.get("traceloop.workflow.name"))
        if workflow is not None:
            out.add_metadata({"traceloop.workflow.name": workflow})
        for key, value in a.items():
            if key.startswith(_ASSOCIATION):
                prop = key[len(_ASSOCIATION) :]
                if prop in ("session_id", "session.id"):
                    out.set_session(value)
                elif prop in ("user_id", "user.id"):
                    out.set_user(value)
                else:
                    out.add_metadata({prop: value})
