"""OpenInference: span kinds, re-nested messages, input/output values, documents, canonical keys, trace facts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .util import TID, check, translate

LLM: dict[str, Any] = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Be brief.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.contents.0.message_content.type": "text",
    "llm.input_messages.1.message.contents.0.message_content.text": "Capital of France?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "c1",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q": "France"}',
    "llm.token_count.prompt": 20,
    "llm.token_count.completion": 5,
    "llm.token_count.total": 25,
    "llm.token_count.prompt_details.cache_read": 4,
    "llm.cost.total": 0.0012,
    "llm.invocation_parameters": '{"temperature": 0.3, "max_tokens": 100}',
    "input.value": '{"model": "gpt-4o-mini"}',
    "input.mime_type": "application/json",
}

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "LLM span",
        LLM,
        {
            "kind": "llm",
            "inputs": {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"},
                ]
            },
            "outputs": {
                "messages": [
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": {"q": "France"}},
                            }
                        ],
                    }
                ]
            },
            "attrs": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.provider.name": "openai",
                "gen_ai.usage.input_tokens": 20,
                "gen_ai.usage.output_tokens": 5,
                "usage.total_tokens": 25,
                "gen_ai.usage.cache_read.input_tokens": 4,
                "spanscope.cost_usd": 0.0012,
                "gen_ai.request.temperature": 0.3,
                "gen_ai.request.max_tokens": 100,
            },
        },
    ),
    (
        "LLM span without messages falls back to input.value",
        {"openinference.span.kind": "LLM", "input.value": '{"prompt": "hi"}', "input.mime_type": "application/json"},
        {"kind": "llm", "inputs": {"prompt": "hi"}},
    ),
    (
        "text/plain values stay strings",
        {"openinference.span.kind": "CHAIN", "input.value": '{"a": 1}', "output.value": "done"},
        {"kind": "chain", "inputs": '{"a": 1}', "outputs": "done"},
    ),
    (
        "invalid JSON with a JSON mime type stays a string",
        {"openinference.span.kind": "CHAIN", "input.value": "{oops", "input.mime_type": "application/json"},
        {"inputs": "{oops"},
    ),
    (
        "retriever documents",
        {
            "openinference.span.kind": "RETRIEVER",
            "input.value": "where is paris",
            "retrieval.documents.0.document.id": "d1",
            "retrieval.documents.0.document.content": "Paris is in France",
            "retrieval.documents.0.document.score": 0.9,
            "retrieval.documents.0.document.metadata": '{"source": "wiki"}',
            "retrieval.documents.1.document.id": "d2",
            "retrieval.documents.1.document.content": "Lyon too",
        },
        {
            "kind": "retriever",
            "inputs": "where is paris",
            "outputs": {
                "documents": [
                    {"id": "d1", "content": "Paris is in France", "score": 0.9, "metadata": {"source": "wiki"}},
                    {"id": "d2", "content": "Lyon too"},
                ]
            },
        },
    ),
    (
        "tool",
        {
            "openinference.span.kind": "TOOL",
            "tool.name": "lookup",
            "tool.description": "look it up",
            "input.value": '{"q": 1}',
            "input.mime_type": "application/json",
            "output.value": "42",
        },
        {
            "kind": "tool",
            "inputs": {"q": 1},
            "outputs": "42",
            "attrs": {"gen_ai.tool.name": "lookup", "gen_ai.operation.name": "execute_tool"},
        },
    ),
    (
        "embedding texts",
        {
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "embedding.embeddings.0.embedding.text": "hello",
            "embedding.embeddings.0.embedding.vector": [0.1, 0.2],
        },
        {
            "kind": "embedding",
            "inputs": {"texts": ["hello"]},
            "attrs": {"gen_ai.request.model": "text-embedding-3-small", "gen_ai.operation.name": "embeddings"},
        },
    ),
    ("agent", {"openinference.span.kind": "AGENT", "agent.name": "planner"}, {"kind": "agent"}),
    ("reranker", {"openinference.span.kind": "RERANKER"}, {"kind": "retriever"}),
    ("guardrail", {"openinference.span.kind": "GUARDRAIL"}, {"kind": "guardrail"}),
    ("evaluator", {"openinference.span.kind": "EVALUATOR"}, {"kind": "evaluator"}),
    ("lower-case kind", {"openinference.span.kind": "llm"}, {"kind": "llm"}),
    ("unknown kind", {"openinference.span.kind": "UNKNOWN"}, {"kind": "other"}),
    (
        "llm.system when llm.provider is absent; string token counts",
        {"openinference.span.kind": "LLM", "llm.system": "anthropic", "llm.token_count.prompt": "7"},
        {"attrs": {"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": 7, "usage.total_tokens": None}},
    ),
    (
        "explicit canonical keys win over derived ones",
        {"openinference.span.kind": "LLM", "llm.model_name": "a", "gen_ai.request.model": "b"},
        {"attrs": {"gen_ai.request.model": "b"}},
    ),
]


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_openinference(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    span, findings, _ = translate(attrs)
    check(span, expected)
    assert findings == []
    for key, value in attrs.items():
        assert span.attributes[key] == value


def test_session_user_metadata_and_tags_go_to_the_trace() -> None:
    _, _, info = translate(
        {
            "openinference.span.kind": "CHAIN",
            "session.id": "s-1",
            "user.id": "u-1",
            "metadata": json.dumps({"tier": "gold", "n": 2}),
            "tag.tags": ["beta", "eu"],
        }
    )
    assert info is not None
    assert info.trace_id == TID
    assert (info.session_id, info.user_id) == ("s-1", "u-1")
    assert info.metadata == {"tier": "gold", "n": 2}
    assert info.tags == {"beta": True, "eu": True}


def test_no_trace_facts_no_trace_info() -> None:
    assert translate({"openinference.span.kind": "LLM"})[2] is None


def test_odd_values_never_break_translation() -> None:
    span, _, info = translate(
        {
            "openinference.span.kind": 5,
            "llm.input_messages.0.message": "collides",
            "llm.input_messages.0.message.role": "user",
            "llm.token_count.prompt": "many",
            "metadata": "not json",
            "tag.tags": 3,
            "session.id": True,
        }
    )
    assert "spanscope.translate_error" not in span.attributes
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert info is None
