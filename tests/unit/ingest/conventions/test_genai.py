"""OTel GenAI semconv (current and legacy) and ``gen_ai.evaluation.result`` events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spanscope.model import Event, Finding

from .util import SID, T0, TID, check, translate

USER_Q = {"role": "user", "parts": [{"type": "text", "content": "What is 2+2?"}]}
ANSWER = {"role": "assistant", "parts": [{"type": "text", "content": "4"}], "finish_reason": "stop"}

CURRENT: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "chat with messages, system instructions and usage",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps([USER_Q]),
            "gen_ai.output.messages": json.dumps([ANSWER]),
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
        },
        {
            "kind": "llm",
            "inputs": {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "What is 2+2?"},
                ]
            },
            "outputs": {"messages": [{"role": "assistant", "content": "4", "finish_reason": "stop"}]},
            "attrs": {"usage.total_tokens": 15, "gen_ai.usage.input_tokens": 12, "gen_ai.provider.name": "openai"},
        },
    ),
    (
        "tool call parts and tool responses",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": json.dumps(
                [
                    USER_Q,
                    {
                        "role": "assistant",
                        "parts": [{"type": "tool_call", "id": "c1", "name": "calc", "arguments": {"expr": "2+2"}}],
                    },
                    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "4"}]},
                ]
            ),
        },
        {
            "kind": "llm",
            "inputs": {
                "messages": [
                    {"role": "user", "content": "What is 2+2?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": {"expr": "2+2"}}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "4"},
                ]
            },
        },
    ),
    (
        "non-text parts are kept beside the text",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "see"}, {"type": "uri", "uri": "u"}]}]
            ),
        },
        {
            "inputs": {
                "messages": [
                    {
                        "role": "user",
                        "content": "see",
                        "parts": [{"type": "text", "content": "see"}, {"type": "uri", "uri": "u"}],
                    }
                ]
            }
        },
    ),
    (
        "execute_tool",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": '{"city": "Paris"}',
            "gen_ai.tool.call.result": '{"temp": 21}',
        },
        {"kind": "tool", "inputs": {"city": "Paris"}, "outputs": {"temp": 21}},
    ),
    (
        "invoke_agent",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
        {"kind": "agent", "inputs": None},
    ),
    ("create_agent", {"gen_ai.operation.name": "create_agent"}, {"kind": "agent"}),
    ("embeddings", {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e"}, {"kind": "embedding"}),
    ("retrieval", {"gen_ai.operation.name": "retrieval"}, {"kind": "retriever"}),
    ("unknown operation with a model is an llm call", {"gen_ai.request.model": "m"}, {"kind": "llm"}),
    (
        "total from gen_ai.usage.total_tokens when given",
        {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1, "gen_ai.usage.total_tokens": 9},
        {"attrs": {"usage.total_tokens": 9}},
    ),
    (
        "messages as a list of JSON strings",
        {"gen_ai.operation.name": "chat", "gen_ai.output.messages": [json.dumps(ANSWER)]},
        {"outputs": {"messages": [{"role": "assistant", "content": "4", "finish_reason": "stop"}]}},
    ),
    (
        "malformed messages are kept raw, not translated",
        {"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[not json"},
        {"kind": "llm", "inputs": None, "attrs": {"gen_ai.input.messages": "[not json"}},
    ),
    (
        "conversation id is the session",
        {"gen_ai.operation.name": "chat", "gen_ai.conversation.id": "conv-1"},
        {"kind": "llm"},
    ),
]

LEGACY: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "gen_ai.system and legacy token names",
        {"gen_ai.system": "anthropic", "gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 5},
        {
            "kind": "llm",
            "attrs": {
                "gen_ai.provider.name": "anthropic",
                "gen_ai.usage.input_tokens": 7,
                "gen_ai.usage.output_tokens": 5,
                "usage.total_tokens": 12,
                "gen_ai.system": "anthropic",
                "gen_ai.usage.prompt_tokens": 7,
            },
        },
    ),
    (
        "flattened prompt/completion with tool calls",
        {
            "gen_ai.system": "openai",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Weather?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "c1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
        },
        {
            "kind": "llm",
            "inputs": {
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
            },
            "outputs": {
                "messages": [
                    {
                        "role": "assistant",
                        "content": None,
                        "finish_reason": "tool_calls",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                            }
                        ],
                    }
                ]
            },
        },
    ),
    (
        "indexes past 9 keep their order",
        {f"gen_ai.prompt.{i}.content": f"m{i}" for i in range(12)} | {"gen_ai.system": "x"},
        {"inputs": {"messages": [{"role": None, "content": f"m{i}"} for i in range(12)]}},
    ),
    (
        "prompt as one JSON attribute (semconv 1.26)",
        {"gen_ai.system": "openai", "gen_ai.prompt": json.dumps([{"role": "user", "content": "hi"}])},
        {"inputs": {"messages": [{"role": "user", "content": "hi"}]}},
    ),
]


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in CURRENT], ids=[c[0] for c in CURRENT])
def test_current_semconv(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    span, findings, _ = translate(attrs)
    check(span, expected)
    assert findings == []
    for key, value in attrs.items():  # raw attributes are kept as they came
        assert span.attributes[key] == value


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in LEGACY], ids=[c[0] for c in LEGACY])
def test_legacy_semconv(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    span, _, _ = translate(attrs)
    check(span, expected)
    for key, value in attrs.items():
        assert span.attributes[key] == value


def test_conversation_id_goes_to_the_trace() -> None:
    _, _, info = translate({"gen_ai.operation.name": "chat", "gen_ai.conversation.id": "conv-1"})
    assert info is not None and info.session_id == "conv-1" and info.trace_id == TID


def test_legacy_message_events() -> None:
    events = [
        Event(name="gen_ai.system.message", time_ns=T0, attributes={"content": "Be brief."}),
        Event(name="gen_ai.user.message", time_ns=T0, attributes={"gen_ai.event.content": '{"content": "Hi"}'}),
        Event(name="gen_ai.tool.message", time_ns=T0, attributes={"content": "21C", "id": "c1"}),
        Event(
            name="gen_ai.choice",
            time_ns=T0,
            attributes={"message": '{"content": "Hello!"}', "finish_reason": "stop", "index": 0},
        ),
    ]
    span, _, _ = translate({"gen_ai.system": "openai"}, events)
    assert span.kind == "llm"
    assert span.inputs == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "tool", "content": "21C", "tool_call_id": "c1"},
        ]
    }
    assert span.outputs == {"messages": [{"role": "assistant", "content": "Hello!", "finish_reason": "stop"}]}
    assert [e.name for e in span.events] == [e.name for e in events]  # events are kept


def test_content_events_of_semconv_1_26() -> None:
    events = [
        Event(
            name="gen_ai.content.prompt", time_ns=T0, attributes={"gen_ai.prompt": '[{"role":"user","content":"q"}]'}
        ),
        Event(
            name="gen_ai.content.completion",
            time_ns=T0,
            attributes={"gen_ai.completion": '[{"role":"assistant","content":"a"}]'},
        ),
    ]
    span, _, _ = translate({"gen_ai.system": "openai"}, events)
    assert span.inputs == {"messages": [{"role": "user", "content": "q"}]}
    assert span.outputs == {"messages": [{"role": "assistant", "content": "a"}]}


def test_operation_details_event_carries_the_messages() -> None:
    event = Event(
        name="gen_ai.client.inference.operation.details",
        time_ns=T0,
        attributes={"gen_ai.input.messages": json.dumps([USER_Q]), "gen_ai.output.messages": json.dumps([ANSWER])},
    )
    span, _, _ = translate({"gen_ai.operation.name": "chat"}, [event])
    assert span.inputs == {"messages": [{"role": "user", "content": "What is 2+2?"}]}
    assert span.outputs["messages"][0]["content"] == "4"


EVALUATIONS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    (
        "score value with label and explanation",
        {
            "gen_ai.evaluation.name": "relevance",
            "gen_ai.evaluation.score.value": 0.75,
            "gen_ai.evaluation.score.label": "relevant",
            "gen_ai.evaluation.explanation": "on topic",
            "gen_ai.response.id": "chatcmpl-1",
        },
        {
            "name": "relevance",
            "value": 0.75,
            "rationale": "on topic",
            "metadata": {"label": "relevant", "gen_ai.response.id": "chatcmpl-1"},
        },
    ),
    (
        "label only",
        {"gen_ai.evaluation.name": "toxicity", "gen_ai.evaluation.score.label": "clean"},
        {"name": "toxicity", "value": "clean", "rationale": None, "metadata": {}},
    ),
    ("integer score stays an int", {"gen_ai.evaluation.name": "n", "gen_ai.evaluation.score.value": 3}, {"value": 3}),
    ("no name: no finding", {"gen_ai.evaluation.score.value": 1.0}, None),
    ("no value: no finding", {"gen_ai.evaluation.name": "x"}, None),
]


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in EVALUATIONS], ids=[c[0] for c in EVALUATIONS])
def test_evaluation_events_become_findings(attrs: dict[str, Any], expected: dict[str, Any] | None) -> None:
    event = Event(name="gen_ai.evaluation.result", time_ns=T0 + 5, attributes=attrs)
    span, findings, _ = translate({}, [event], name="plain")
    assert span.events == [event]
    if expected is None:
        assert findings == []
        return
    (f,) = findings
    assert isinstance(f, Finding)
    assert f.trace_id == TID and f.span_id == SID and f.time_ns == T0 + 5 and f.source == "code"
    for key, value in expected.items():
        assert getattr(f, key) == value, key


def test_finding_ids_are_stable_across_retries() -> None:
    event = Event(
        name="gen_ai.evaluation.result",
        time_ns=T0,
        attributes={"gen_ai.evaluation.name": "r", "gen_ai.evaluation.score.value": 1.0},
    )
    (a,), (b,) = translate({}, [event])[1], translate({}, [event])[1]
    assert a.finding_id == b.finding_id and a.finding_id is not None and len(a.finding_id) == 32


@pytest.mark.parametrize(("score", "label", "value"), [(1.0, "true", True), (0.0, "false", False), (1.0, "yes", 1.0)])
def test_boolean_findings_as_the_sdk_exporter_encodes_them(score: float, label: str, value: Any) -> None:
    event = Event(
        name="gen_ai.evaluation.result",
        time_ns=T0,
        attributes={
            "gen_ai.evaluation.name": "ok",
            "gen_ai.evaluation.score.value": score,
            "gen_ai.evaluation.score.label": label,
        },
    )
    (finding,) = translate({}, [event])[1]
    assert finding.value == value and type(finding.value) is type(value)
