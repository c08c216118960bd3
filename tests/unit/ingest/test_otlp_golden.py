"""Golden OTLP payloads captured from real instrumentations (see tests/fixtures/otlp/capture.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spanscope.ingest.otlp import JSON, PROTOBUF, decode_otlp_traces
from spanscope.model import Span

from .otlp_util import assert_model_valid

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp"
CAPTURES = ("openinference_openai", "openllmetry_openai", "genai_openai_v2", "genai_openai_v2_legacy")

SYSTEM = {"role": "system", "content": "You are a terse geography assistant."}
QUESTION = {"role": "user", "content": "What is the capital of France?"}
WEATHER_Q = {"role": "user", "content": "What's the weather in Paris?"}
TOOL_CALL = {
    "id": "call_weather_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
}
TOKENS = {"gen_ai.usage.input_tokens": 23, "gen_ai.usage.output_tokens": 11, "usage.total_tokens": 34}


def decode(name: str, fmt: str) -> list[Span]:
    ext = ".pb" if fmt == PROTOBUF else ".json"
    decoded = decode_otlp_traces((FIXTURES / f"{name}{ext}").read_bytes(), fmt)
    assert decoded.rejected == []
    assert_model_valid(decoded)
    (batch,) = decoded.batches.values()
    return batch.spans


@pytest.mark.parametrize("name", CAPTURES)
def test_protobuf_and_json_captures_decode_the_same(name: str) -> None:
    assert decode(name, PROTOBUF) == decode(name, JSON)


def _answer(finish_reason: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": "The capital of France is Paris."}
    if finish_reason:
        out["finish_reason"] = finish_reason
    return out


def _tool_answer(finish_reason: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    if finish_reason:
        out["finish_reason"] = finish_reason
    return out


EXPECTED: dict[str, dict[str, Any]] = {
    "openinference_openai": {
        "status": "OK",
        "span_kind": "internal",
        "attrs": {**TOKENS, "gen_ai.request.model": "gpt-4o-mini-2024-07-18", "gen_ai.provider.name": "openai"},
        "outputs": (_answer(None), _tool_answer(None)),
    },
    "openllmetry_openai": {
        "status": "UNSET",
        "span_kind": "client",
        "attrs": {**TOKENS, "gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai"},
        "outputs": (_answer("stop"), _tool_answer("tool_call")),
    },
    "genai_openai_v2": {
        "status": "UNSET",
        "span_kind": "client",
        "attrs": {**TOKENS, "gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai"},
        "outputs": (_answer("stop"), _tool_answer("tool_calls")),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chat_captures_map_onto_the_model(name: str) -> None:
    exp = EXPECTED[name]
    first, second = decode(name, PROTOBUF)
    for span in (first, second):
        assert span.kind == "llm"
        assert span.status == exp["status"]
        assert span.parent_span_id is None
        assert span.attributes["otel.span_kind"] == exp["span_kind"]
        assert span.attributes["resource.service.name"] == f"capture-{name}"
        assert span.attributes["otel.scope.name"]
        assert span.attributes["gen_ai.operation.name"] == "chat"
        for key, value in exp["attrs"].items():
            assert span.attributes[key] == value, key
        assert "spanscope.translate_error" not in span.attributes
    assert first.inputs == {"messages": [SYSTEM, QUESTION]}
    assert second.inputs == {"messages": [WEATHER_Q]}
    assert first.outputs == {"messages": [exp["outputs"][0]]}
    assert second.outputs == {"messages": [exp["outputs"][1]]}


def test_openinference_capture_keeps_raw_attributes_and_trace_facts() -> None:
    decoded = decode_otlp_traces((FIXTURES / "openinference_openai.pb").read_bytes(), PROTOBUF)
    (batch,) = decoded.batches.values()
    first = batch.spans[0]
    assert first.attributes["openinference.span.kind"] == "LLM"
    assert first.attributes["llm.input_messages.1.message.content"] == QUESTION["content"]
    assert first.attributes["input.mime_type"] == "application/json"
    (info,) = [t for t in batch.traces if t.trace_id == first.trace_id]
    assert (info.session_id, info.user_id) == ("session-1", "user-42")
    assert info.metadata == {"tier": "gold", "attempt": 1}
    assert info.tags == {"geo": True, "demo": True}


def test_legacy_genai_capture() -> None:
    for span in decode("genai_openai_v2_legacy", PROTOBUF):
        assert span.kind == "llm"
        assert span.attributes["gen_ai.system"] == "openai"
        assert span.attributes["gen_ai.provider.name"] == "openai"  # canonical key from the legacy one
        for key, value in TOKENS.items():
            assert span.attributes[key] == value
        # In its default mode this instrumentation sends message content as log events, not on spans.
        assert span.inputs is None and span.outputs is None
