"""instrument("openai"): the real openai client against a loopback server speaking its wire format."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.resources.chat.completions import completions as completions_module

import spanscope.sdk
from spanscope.model import Span
from spanscope.sdk.instrument import instrument, instrumented, uninstrument
from spanscope.testing import CaptureExporter, capture

from .llm_wire import OPENAI_TOOL_ARGS, TEXT, WireServer

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    }
]
ANSWER = {"role": "assistant", "content": TEXT}
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_order", "arguments": "".join(OPENAI_TOOL_ARGS)},
}
# gpt-4o-mini: $0.15 input / $0.60 output per 1M tokens; the server reports 12 prompt + 5 completion tokens.
COST = round((12 * 0.15 + 5 * 0.60) / 1e6, 10)


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as srv:
        yield srv


@pytest.fixture
def client(wire: WireServer) -> Iterator[openai.OpenAI]:
    instrument("openai")
    with openai.OpenAI(base_url=wire.url + "/v1", api_key="test-key", max_retries=0) as c:
        yield c
    uninstrument("openai")


@pytest.fixture
def aclient(wire: WireServer) -> Iterator[openai.AsyncOpenAI]:
    instrument("openai")
    yield openai.AsyncOpenAI(base_url=wire.url + "/v1", api_key="test-key", max_retries=0)
    uninstrument("openai")


def only_span(cap: CaptureExporter) -> Span:
    spans = cap.spans
    assert len(spans) == 1, spans
    return spans[0]


def response_attributes(wire: WireServer, **extra: Any) -> dict[str, Any]:
    port = int(wire.url.rsplit(":", 1)[1])
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "usage.total_tokens": 17,
        "spanscope.cost_usd": COST,
        **extra,
    }


def test_plain_call_becomes_an_llm_span(client: openai.OpenAI, cap: CaptureExporter, wire: WireServer) -> None:
    result = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=50, top_p=0.9, stop="END", seed=7
    )
    assert isinstance(result, openai.types.chat.ChatCompletion)
    assert result.choices[0].message.content == TEXT

    s = only_span(cap)
    assert (s.name, s.kind, s.status, s.parent_span_id) == ("chat gpt-4o-mini", "llm", "OK", None)
    assert s.attributes == response_attributes(
        wire,
        **{
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["END"],
        },
    )
    assert s.inputs == {"messages": MESSAGES}
    assert s.outputs == {"choices": [{"index": 0, "finish_reason": "stop", "message": ANSWER}]}
    assert wire.requests[-1]["body"]["messages"] == MESSAGES  # the call itself went through untouched


def test_span_is_a_child_of_the_current_span(client: openai.OpenAI, cap: CaptureExporter) -> None:
    with spanscope.sdk.span("turn", kind="chain") as turn:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert cap.span_tree() == [
        {
            "name": "turn",
            "kind": "chain",
            "status": "OK",
            "children": [{"name": "chat gpt-4o-mini", "kind": "llm", "status": "OK", "children": []}],
        }
    ]
    llm = next(s for s in cap.spans if s.kind == "llm")
    assert llm.parent_span_id == turn.span_id


def test_inputs_are_the_messages_as_sent(client: openai.OpenAI, cap: CaptureExporter) -> None:
    messages = list(MESSAGES)
    result = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    messages.append(result.choices[0].message.model_dump(exclude_none=True))  # what a chat loop does next
    assert only_span(cap).inputs == {"messages": MESSAGES}


def test_tool_calls(client: openai.OpenAI, cap: CaptureExporter) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    assert result.choices[0].message.tool_calls[0].function.name == "get_order"
    s = only_span(cap)
    assert s.inputs == {"messages": MESSAGES, "tools": TOOLS}
    assert s.outputs == {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            }
        ]
    }
    assert s.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]


def test_stream_is_assembled_and_ends_the_span_when_consumed(
    client: openai.OpenAI, cap: CaptureExporter, wire: WireServer
) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)
    assert cap.spans == []  # still open while the stream is pending
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 17

    s = only_span(cap)
    assert (s.kind, s.status) == ("llm", "OK")
    assert s.outputs == {"choices": [{"index": 0, "finish_reason": "stop", "message": ANSWER}]}
    assert s.attributes == response_attributes(wire)


def test_stream_and_plain_answers_record_the_same_outputs(client: openai.OpenAI, cap: CaptureExporter) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True):
        pass
    plain, streamed = cap.spans
    assert streamed.outputs == plain.outputs
    assert streamed.outputs["choices"][0]["message"]["tool_calls"] == [TOOL_CALL]


def test_stream_without_usage_has_no_token_counts(client: openai.OpenAI, cap: CaptureExporter) -> None:
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass
    attrs = only_span(cap).attributes
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "usage.total_tokens", "spanscope.cost_usd"):
        assert key not in attrs


def test_stream_closed_early_ends_the_span_with_what_arrived(client: openai.OpenAI, cap: CaptureExporter) -> None:
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        first, second = next(stream), next(stream)
        assert (first.choices[0].delta.content, second.choices[0].delta.content) == ("", "Hel")
        assert cap.spans == []
    s = only_span(cap)
    assert s.status == "OK"
    assert s.outputs == {
        "choices": [{"index": 0, "finish_reason": None, "message": {"role": "assistant", "content": "Hel"}}]
    }


def test_dropped_stream_ends_the_span(client: openai.OpenAI, cap: CaptureExporter) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    del stream  # never closed: the span ends when the stream is freed
    gc.collect()  # the SDK's own stream and its generator form a cycle
    assert only_span(cap).kind == "llm"


def test_pending_stream_is_not_the_current_span(client: openai.OpenAI, cap: CaptureExporter) -> None:
    with spanscope.sdk.span("turn") as turn:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        assert spanscope.sdk.current_span() is turn
        with spanscope.sdk.span("tool.lookup", kind="tool"):
            pass
        for _ in stream:
            pass
    by_name = {s.name: s for s in cap.spans}
    assert by_name["tool.lookup"].parent_span_id == turn.span_id
    assert by_name["chat gpt-4o-mini"].parent_span_id == turn.span_id


def test_async_plain_and_streaming(aclient: openai.AsyncOpenAI, cap: CaptureExporter, wire: WireServer) -> None:
    async def main() -> str:
        result = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.AsyncStream)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await aclient.close()
        return str(result.choices[0].message.content) + "|" + text

    assert asyncio.run(main()) == f"{TEXT}|{TEXT}"
    plain, streamed = cap.spans
    for s in (plain, streamed):
        assert (s.kind, s.status) == ("llm", "OK")
        assert s.outputs == {"choices": [{"index": 0, "finish_reason": "stop", "message": ANSWER}]}
        assert s.attributes == response_attributes(wire)


def test_async_stream_closed_early(aclient: openai.AsyncOpenAI, cap: CaptureExporter) -> None:
    async def main() -> None:
        stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        async with stream:
            async for chunk in stream:
                if chunk.choices[0].delta.content:
                    break
        await aclient.close()

    asyncio.run(main())
    assert only_span(cap).outputs["choices"][0]["message"]["content"] == "Hel"


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [("error-400", openai.BadRequestError, 400), ("error-500", openai.InternalServerError, 500)],
)
def test_errors_mark_the_span_and_reach_the_caller_unchanged(
    client: openai.OpenAI, cap: CaptureExporter, model: str, error: type[Exception], status: int
) -> None:
    with pytest.raises(error) as info:
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert f"simulated {status}" in str(info.value)

    s = only_span(cap)
    assert (s.status, s.kind, s.name) == ("ERROR", "llm", f"chat {model}")
    assert s.attributes["error.type"] == error.__qualname__
    assert "gen_ai.response.model" not in s.attributes
    (event,) = s.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == f"openai.{error.__qualname__}"
    assert f"simulated {status}" in str(event.attributes["exception.message"])


def test_streaming_call_that_fails_before_the_stream(client: openai.OpenAI, cap: CaptureExporter) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="error-400", messages=MESSAGES, stream=True)
    s = only_span(cap)
    assert s.status == "ERROR" and s.events[0].name == "exception"


def test_async_error(aclient: openai.AsyncOpenAI, cap: CaptureExporter) -> None:
    async def main() -> None:
        try:
            await aclient.chat.completions.create(model="error-500", messages=MESSAGES)
        finally:
            await aclient.close()

    with pytest.raises(openai.InternalServerError):
        asyncio.run(main())
    assert only_span(cap).status == "ERROR"


def test_unknown_model_has_no_cost(client: openai.OpenAI, cap: CaptureExporter) -> None:
    client.chat.completions.create(model="my-local-llama", messages=MESSAGES)
    attrs = only_span(cap).attributes
    assert attrs["usage.total_tokens"] == 17
    assert "spanscope.cost_usd" not in attrs


def test_raw_response_passes_through(client: openai.OpenAI, cap: CaptureExporter) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == TEXT
    s = only_span(cap)
    assert (s.kind, s.status, s.outputs) == ("llm", "OK", None)


def test_instrument_is_idempotent_and_reversible(wire: WireServer) -> None:
    original_create = completions_module.Completions.__dict__["create"]
    original_close = openai.Stream.__dict__["close"]
    with capture() as cap, openai.OpenAI(base_url=wire.url + "/v1", api_key="k", max_retries=0) as c:
        assert instrument("openai") is True
        assert instrument("OpenAI") is True
        assert instrumented() == ["openai"]
        wrapped = completions_module.Completions.__dict__["create"]
        assert wrapped is not original_create and wrapped.__wrapped__ is original_create
        c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(cap.spans) == 1  # one span, not one per instrument() call

        assert uninstrument("openai") is True
        assert uninstrument("openai") is False
        assert completions_module.Completions.__dict__["create"] is original_create
        assert openai.Stream.__dict__["close"] is original_close
        c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(cap.spans) == 1

        instrument("openai")
        c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(cap.spans) == 2
        uninstrument("openai")
    assert instrumented() == []


def test_wrapped_again_by_someone_else_then_uninstrumented(wire: WireServer) -> None:
    cls = completions_module.Completions
    original = cls.__dict__["create"]
    instrument("openai")
    ours = cls.__dict__["create"]

    def theirs(self: Any, *args: Any, **kwargs: Any) -> Any:
        return ours(self, *args, **kwargs)

    cls.create = theirs  # type: ignore[method-assign]
    try:
        uninstrument("openai")
        assert cls.__dict__["create"] is theirs  # their wrapper stays; ours is switched off
        with capture() as cap, openai.OpenAI(base_url=wire.url + "/v1", api_key="k", max_retries=0) as c:
            c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            assert cap.spans == []
    finally:
        cls.create = original  # type: ignore[method-assign]


def test_not_configured_calls_straight_through(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == TEXT
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == TEXT
