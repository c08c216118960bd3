"""OpenLLMetry, MLflow and Langfuse translators, and how translators combine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spanscope.ingest.conventions import TRANSLATORS, translate_span
from spanscope.ingest.conventions.base import Translation, Translator, unflatten

from .util import check, make_span, translate

OPENLLMETRY: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "workflow",
        {
            "traceloop.span.kind": "workflow",
            "traceloop.workflow.name": "support",
            "traceloop.entity.name": "support",
            "traceloop.entity.input": json.dumps({"args": ["hi"], "kwargs": {}}),
            "traceloop.entity.output": '"hello"',
        },
        {"kind": "chain", "inputs": {"args": ["hi"], "kwargs": {}}, "outputs": "hello"},
    ),
    ("task", {"traceloop.span.kind": "task"}, {"kind": "chain"}),
    (
        "agent",
        {"traceloop.span.kind": "agent", "traceloop.entity.name": "planner"},
        {"kind": "agent", "attrs": {"gen_ai.agent.name": "planner"}},
    ),
    (
        "tool",
        {"traceloop.span.kind": "tool", "traceloop.entity.name": "search"},
        {"kind": "tool", "attrs": {"gen_ai.tool.name": "search"}},
    ),
    (
        "legacy LLM span: llm.request.type, flattened prompts, llm.usage.total_tokens",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "hello",
            "gen_ai.usage.prompt_tokens": 3,
            "gen_ai.usage.completion_tokens": 2,
            "llm.usage.total_tokens": 5,
        },
        {
            "kind": "llm",
            "inputs": {"messages": [{"role": "user", "content": "hi"}]},
            "outputs": {"messages": [{"role": "assistant", "content": "hello"}]},
            "attrs": {
                "gen_ai.provider.name": "OpenAI",
                "gen_ai.usage.input_tokens": 3,
                "gen_ai.usage.output_tokens": 2,
                "usage.total_tokens": 5,
            },
        },
    ),
    ("embedding request", {"llm.request.type": "embedding"}, {"kind": "embedding"}),
    ("rerank request", {"llm.request.type": "rerank"}, {"kind": "retriever"}),
]

MLFLOW: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "chat model span",
        {
            "mlflow.spanType": '"CHAT_MODEL"',
            "mlflow.spanInputs": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            "mlflow.spanOutputs": json.dumps({"choices": [{"message": {"role": "assistant", "content": "yo"}}]}),
            "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}),
            "mlflow.llm.model": '"gpt-4o"',
        },
        {
            "kind": "llm",
            "inputs": {"messages": [{"role": "user", "content": "hi"}]},
            "outputs": {"choices": [{"message": {"role": "assistant", "content": "yo"}}]},
            "attrs": {
                "gen_ai.usage.input_tokens": 4,
                "gen_ai.usage.output_tokens": 2,
                "usage.total_tokens": 6,
                "gen_ai.request.model": "gpt-4o",
            },
        },
    ),
    ("retriever", {"mlflow.spanType": '"RETRIEVER"', "mlflow.spanOutputs": "[]"}, {"kind": "retriever", "outputs": []}),
    (
        "unquoted type",
        {"mlflow.spanType": "TOOL", "mlflow.spanInputs": '{"x": 1}'},
        {"kind": "tool", "inputs": {"x": 1}},
    ),
    ("parser", {"mlflow.spanType": '"PARSER"'}, {"kind": "other"}),
    ("plain string inputs", {"mlflow.spanType": '"CHAIN"', "mlflow.spanInputs": "hello"}, {"inputs": "hello"}),
]

LANGFUSE: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "generation",
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.input": json.dumps([{"role": "user", "content": "hi"}]),
            "langfuse.observation.output": json.dumps({"role": "assistant", "content": "yo"}),
            "langfuse.observation.model.name": "claude-3-5-sonnet",
            "langfuse.observation.usage_details": json.dumps({"input": 10, "output": 4, "total": 14}),
            "langfuse.observation.cost_details": json.dumps({"input": 0.001, "total": 0.002}),
        },
        {
            "kind": "llm",
            "inputs": [{"role": "user", "content": "hi"}],
            "outputs": {"role": "assistant", "content": "yo"},
            "attrs": {
                "gen_ai.request.model": "claude-3-5-sonnet",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 4,
                "usage.total_tokens": 14,
                "spanscope.cost_usd": 0.002,
            },
        },
    ),
    (
        "OpenAI-style usage names",
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.usage_details": json.dumps({"prompt_tokens": 2, "completion_tokens": 1}),
        },
        {"attrs": {"gen_ai.usage.input_tokens": 2, "gen_ai.usage.output_tokens": 1, "usage.total_tokens": 3}},
    ),
    ("span", {"langfuse.observation.type": "span"}, {"kind": "chain"}),
    ("event", {"langfuse.observation.type": "event"}, {"kind": "other"}),
    ("tool", {"langfuse.observation.type": "tool"}, {"kind": "tool"}),
    ("agent", {"langfuse.observation.type": "agent"}, {"kind": "agent"}),
    ("retriever", {"langfuse.observation.type": "retriever"}, {"kind": "retriever"}),
    ("guardrail", {"langfuse.observation.type": "guardrail"}, {"kind": "guardrail"}),
    (
        "trace input when the observation has none",
        {"langfuse.trace.name": "t", "langfuse.trace.input": '{"q": 1}', "langfuse.trace.output": "a"},
        {"inputs": {"q": 1}, "outputs": "a"},
    ),
]


def _run(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    span, _, _ = translate(attrs)
    check(span, expected)
    for key, value in attrs.items():
        assert span.attributes[key] == value


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in OPENLLMETRY], ids=[c[0] for c in OPENLLMETRY])
def test_openllmetry(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    _run(attrs, expected)


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in MLFLOW], ids=[c[0] for c in MLFLOW])
def test_mlflow(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    _run(attrs, expected)


@pytest.mark.parametrize(("attrs", "expected"), [c[1:] for c in LANGFUSE], ids=[c[0] for c in LANGFUSE])
def test_langfuse(attrs: dict[str, Any], expected: dict[str, Any]) -> None:
    _run(attrs, expected)


def test_openllmetry_association_properties_go_to_the_trace() -> None:
    _, _, info = translate(
        {
            "traceloop.workflow.name": "support",
            "traceloop.association.properties.session_id": "s-9",
            "traceloop.association.properties.user_id": "u-9",
            "traceloop.association.properties.plan": "pro",
        }
    )
    assert info is not None
    assert (info.session_id, info.user_id) == ("s-9", "u-9")
    assert info.metadata == {"traceloop.workflow.name": "support", "plan": "pro"}


def test_langfuse_trace_facts() -> None:
    _, _, info = translate(
        {
            "langfuse.trace.tags": ["prod", "eu"],
            "langfuse.user.id": "u-1",
            "langfuse.session.id": "s-1",
            "langfuse.trace.metadata.customer": "acme",
            "langfuse.trace.metadata.flags": '{"a": 1}',
        }
    )
    assert info is not None
    assert info.tags == {"prod": True, "eu": True}
    assert (info.session_id, info.user_id) == ("s-1", "u-1")
    assert info.metadata == {"customer": "acme", "flags": {"a": 1}}


def test_langfuse_tags_as_json_text() -> None:
    _, _, info = translate({"langfuse.trace.tags": '["a", "b"]'})
    assert info is not None and info.tags == {"a": True, "b": True}


def test_first_translator_wins_and_others_fill_gaps() -> None:
    # An OpenLLMetry span with GenAI attributes: kind from traceloop, messages from GenAI.
    span, _, _ = translate(
        {
            "traceloop.span.kind": "agent",
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "q"}]}]),
        }
    )
    assert span.kind == "agent"
    assert span.inputs == {"messages": [{"role": "user", "content": "q"}]}


def test_existing_kind_inputs_and_outputs_are_not_overridden() -> None:
    span = make_span(
        {"openinference.span.kind": "LLM", "input.value": "x", "output.value": "y"},
        kind="tool",
        inputs={"mine": 1},
        outputs="kept",
    )
    translate_span(span)
    assert (span.kind, span.inputs, span.outputs) == ("tool", {"mine": 1}, "kept")


def test_plain_span_is_untouched() -> None:
    attrs = {"http.method": "GET", "http.route": "/x", "db.system": "postgresql"}
    span, findings, info = translate(attrs)
    assert (span.kind, span.inputs, span.outputs, span.attributes) == ("other", None, None, attrs)
    assert findings == [] and info is None


def test_a_failing_translator_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(Translator):
        name = "broken"

        def matches(self, span: Any, roots: Any) -> bool:
            return True

        def translate(self, span: Any, out: Translation) -> None:
            raise RuntimeError("boom")

    import spanscope.ingest.conventions as conv

    monkeypatch.setattr(conv, "TRANSLATORS", (Broken(), *TRANSLATORS))
    span, _, _ = conv.translate_span(make_span({"openinference.span.kind": "LLM"}))
    assert span.kind == "llm"  # the others still ran
    assert span.attributes["spanscope.translate_error"].startswith("broken: RuntimeError")


@pytest.mark.parametrize(
    ("attrs", "prefix", "expected"),
    [
        ({"p.0.a": 1, "p.1.a": 2}, "p", [{"a": 1}, {"a": 2}]),
        ({"p.10.a": 10, "p.2.a": 2}, "p", [{"a": 2}, {"a": 10}]),
        ({"p.0.a.0.b": "x", "p.0.a.1.b": "y"}, "p", [{"a": [{"b": "x"}, {"b": "y"}]}]),
        ({"p.0.a": 1, "p.0.a.b": 2}, "p", [{"a": 1}]),
        ({"px.0": 1}, "p", None),
        ({"p.x": 1, "p.y.z": 2}, "p", {"x": 1, "y": {"z": 2}}),
    ],
)
def test_unflatten(attrs: dict[str, Any], prefix: str, expected: Any) -> None:
    assert unflatten(attrs, prefix) == expected


def test_spanscope_keys_from_the_sdk_exporter() -> None:
    span, _, info = translate(
        {
            "spanscope.span.kind": "db",
            "openinference.span.kind": "CHAIN",
            "spanscope.tag.tier": "gold",
            "spanscope.tag.n": 2,
            "spanscope.metadata.ab": '{"arm": "b"}',
            "spanscope.metadata.plain": "x",
        }
    )
    assert span.kind == "db"  # spanscope's own kind beats the OpenInference approximation
    assert info is not None
    assert info.tags == {"tier": "gold", "n": 2}
    assert info.metadata == {"ab": {"arm": "b"}, "plain": "x"}


def test_unknown_spanscope_kind_is_ignored() -> None:
    assert translate({"spanscope.span.kind": "nonsense"})[0].kind == "other"


def test_roots() -> None:
    from spanscope.ingest.conventions.base import roots_of
    from spanscope.model import Event

    span = make_span(
        {"gen_ai.usage.input_tokens": 1, "metadata": "{}", "x.y.z": 2}, [Event(name="exception", time_ns=1)]
    )
    roots = roots_of(span)
    assert "gen_ai" in roots and "metadata" in roots and "x" in roots and "exception" in roots
    assert "gen" not in roots and "y" not in roots and "usage" not in roots and 3 not in roots
    assert set(roots) == {"gen_ai", "metadata", "x", "exception"} and len(roots) == 4
