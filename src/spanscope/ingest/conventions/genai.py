"""OpenTelemetry GenAI semantic conventions: current (1.37+), legacy (before 1.37), evaluation events.

Current: ``gen_ai.operation.name`` gives the kind; ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
``gen_ai.system_instructions`` (JSON text or structured values, also read from a
``gen_ai.client.inference.operation.details`` event) give inputs/outputs; tool spans (``execute_tool``) take
``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result``.

Legacy: ``gen_ai.system`` (-> ``gen_ai.provider.name``), ``gen_ai.usage.prompt_tokens`` /
``completion_tokens``, flattened ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` (re-nested), and the
message events ``gen_ai.{system,user,assistant,tool}.message``, ``gen_ai.choice``,
``gen_ai.content.prompt`` / ``gen_ai.content.completion``.

Evaluations: every ``gen_ai.evaluation.result`` event becomes a :class:`~spanscope.model.Finding` (value:
``score.value``, else ``score.label``; a 1/0 score with the label ``"true"``/``"false"`` is a boolean).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from spanscope.ingest.conventions.base import (
    Translation,
    Translator,
    as_float,
    as_str,
    finding_id,
    parse_json,
    unflatten,
)
from spanscope.ingest.conventions.messages import chat_message, chat_messages, genai_messages, system_message
from spanscope.model import Event, Finding, Span
from spanscope.model.conventions import (
    GEN_AI_PROVIDER_NAME,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    USAGE_TOTAL_TOKENS,
)

OPERATION_KINDS: dict[str, str] = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "retrieval": "retriever",
    "invoke_workflow": "chain",
}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
EVALUATION_EVENT = "gen_ai.evaluation.result"
_ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_LEGACY_MARKERS = (
    "gen_ai.system",
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.role",
    "gen_ai.completion.0.content",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
)
_LEGACY_MARKER_SET = frozenset(_LEGACY_MARKERS)
_LEGACY_EVENTS = frozenset({*_ROLE_EVENTS, "gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion"})


def _event(span: Span, name: str) -> Event | None:
    return next((e for e in span.events if e.name == name), None)


class GenAISemconv(Translator):
    """OTel GenAI semantic conventions as of 1.37+ (``gen_ai.provider.name``, ``gen_ai.input.messages``…)."""

    name = "genai"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        a = span.attributes
        return "gen_ai" in roots and (
            "gen_ai.operation.name" in a
            or "gen_ai.provider.name" in a
            or "gen_ai.input.messages" in a
            or "gen_ai.output.messages" in a
            or "gen_ai.request.model" in a
            or "gen_ai.tool.name" in a
            or (bool(span.events) and _event(span, DETAILS_EVENT) is not None)
        )

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        op = a.get("gen_ai.operation.name")
        kind = OPERATION_KINDS.get(op) if isinstance(op, str) else None
        if kind is None:
            if "gen_ai.tool.name" in a and "gen_ai.request.model" not in a:
                kind = "tool"
            elif "gen_ai.input.messages" in a or "gen_ai.output.messages" in a or "gen_ai.request.model" in a:
                kind = "llm"
        out.set_kind(kind)

        if kind == "tool" or span.kind == "tool":
            out.set_inputs(parse_json(a.get("gen_ai.tool.call.arguments")))
            out.set_outputs(parse_json(a.get("gen_ai.tool.call.result")))
        src: dict[str, Any] = a
        if "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a:
            details = _event(span, DETAILS_EVENT) if span.events else None
            if details is not None:
                src = details.attributes
            elif "gen_ai.system_instructions" not in a:
                self._usage(a, out)
                return
        inputs = genai_messages(src.get("gen_ai.input.messages")) or []
        system = system_message(src.get("gen_ai.system_instructions"))
        if system is not None:
            inputs.insert(0, system)
        if inputs:
            out.set_inputs({"messages": inputs})
        outputs = genai_messages(src.get("gen_ai.output.messages"))
        if outputs:
            out.set_outputs({"messages": outputs})
        if src is not a:
            for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
                out.set_int_attr(key, src.get(key))
        self._usage(a, out)

    @staticmethod
    def _usage(a: dict[str, Any], out: Translation) -> None:
        # Not in the semconv, but OpenLLMetry and others send it.
        out.set_int_attr(USAGE_TOTAL_TOKENS, a.get("gen_ai.usage.total_tokens"))
        out.set_session(a.get("gen_ai.conversation.id"))


class GenAILegacy(Translator):
    """GenAI semconv before 1.37: ``gen_ai.system``, flattened prompts/completions, message events."""

    name = "genai-legacy"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        if "gen_ai" not in roots:
            return False
        a = span.attributes
        if not a.keys().isdisjoint(_LEGACY_MARKER_SET):
            return True
        return bool(span.events) and any(e.name in _LEGACY_EVENTS for e in span.events)

    def translate(self, span: Span, out: Translation) -> None:
        a = span.attributes
        out.set_attr(GEN_AI_PROVIDER_NAME, as_str(a.get("gen_ai.system")))
        out.set_int_attr(GEN_AI_USAGE_INPUT_TOKENS, a.get("gen_ai.usage.prompt_tokens"))
        out.set_int_attr(GEN_AI_USAGE_OUTPUT_TOKENS, a.get("gen_ai.usage.completion_tokens"))

        prompt = chat_messages(a.get("gen_ai.prompt"))
        if not prompt and ("gen_ai.prompt.0.role" in a or "gen_ai.prompt.0.content" in a):
            prompt = chat_messages(unflatten(a, "gen_ai.prompt"))
        completion = chat_messages(a.get("gen_ai.completion"))
        if not completion and ("gen_ai.completion.0.role" in a or "gen_ai.completion.0.content" in a):
            completion = chat_messages(unflatten(a, "gen_ai.completion"))
        if span.events and (prompt is None or completion is None):
            ev_prompt, ev_completion = _event_messages(span.events)
            prompt = prompt or ev_prompt
            completion = completion or ev_completion
        if prompt or completion or "gen_ai.system" in a:
            out.set_kind("llm")
        if prompt:
            out.set_inputs({"messages": prompt})
        if completion:
            out.set_outputs({"messages": completion})


def _event_messages(events: list[Event]) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    prompt: list[dict[str, Any]] = []
    completion: list[dict[str, Any]] = []
    for e in events:
        at = e.attributes
        if e.name == "gen_ai.content.prompt":
            prompt.extend(chat_messages(at.get("gen_ai.prompt")) or [])
        elif e.name == "gen_ai.content.completion":
            completion.extend(chat_messages(at.get("gen_ai.completion")) or [])
        elif e.name in _ROLE_EVENTS:
            m = _message_event(at, _ROLE_EVENTS[e.name])
            if m:
                prompt.append(m)
        elif e.name == "gen_ai.choice":
            m = _choice_event(at)
            if m:
                completion.append(m)
    return prompt or None, completion or None


def _event_body(at: dict[str, Any]) -> dict[str, Any]:
    # Span-event flavours of the old log-event bodies: the body as JSON in ``gen_ai.event.content``, or its
    # fields spread as attributes.
    body = parse_json(at.get("gen_ai.event.content"))
    out: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    for key, value in at.items():
        if not key.startswith("gen_ai."):
            out.setdefault(key, value)
    return out


def _message_event(at: dict[str, Any], role: str) -> dict[str, Any] | None:
    body = _event_body(at)
    body.setdefault("role", role)
    if role == "tool" and "id" in body:
        body.setdefault("tool_call_id", body["id"])
    return chat_message(body)


def _choice_event(at: dict[str, Any]) -> dict[str, Any] | None:
    body = _event_body(at)
    message = parse_json(body.get("message"))
    if not isinstance(message, dict):
        message = {"content": body.get("message.content", body.get("content"))}
        if "message.role" in body:
            message["role"] = body["message.role"]
    message = dict(message)
    message.setdefault("role", "assistant")
    if body.get("finish_reason") is not None:
        message.setdefault("finish_reason", body["finish_reason"])
    return chat_message(message)


def evaluation_findings(span: Span, out: Translation) -> None:
    """Each ``gen_ai.evaluation.result`` event -> a Finding on this span (the event itself is kept)."""
    for i, e in enumerate(span.events):
        if e.name != EVALUATION_EVENT:
            continue
        at = e.attributes
        name = as_str(at.get("gen_ai.evaluation.name"))
        raw = at.get("gen_ai.evaluation.score.value")
        value: Any = raw if isinstance(raw, bool | int) else as_float(raw)
        label = as_str(at.get("gen_ai.evaluation.score.label"))
        if value is None:
            value = label
        elif label in ("true", "false") and value in (0, 1):
            value = label == "true"  # a boolean finding, as spanscope's OTLP exporter encodes one
        if name is None or value is None:
            continue
        metadata: dict[str, Any] = {}
        if label is not None and value != label and not isinstance(value, bool):
            metadata["label"] = label
        if at.get("gen_ai.response.id") is not None:
            metadata["gen_ai.response.id"] = at["gen_ai.response.id"]
        explanation = at.get("gen_ai.evaluation.explanation")
        out.add_finding(
            Finding(
                trace_id=span.trace_id,
                span_id=span.span_id,
                name=name,
                value=value,
                rationale=explanation if isinstance(explanation, str) else None,
                time_ns=e.time_ns,
                metadata=metadata,
                finding_id=finding_id(span.trace_id, span.span_id, i, name),
            )
        )
