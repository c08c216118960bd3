"""instrument("anthropic"): the real anthropic client against a loopback server speaking its wire format."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.resources.messages import messages as messages_module

import spanscope.sdk
from spanscope.model import Span
from spanscope.sdk.instrument import instrument, uninstrument
from spanscope.testing import CaptureExporter

from .llm_wire import TEXT, WireServer

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "Say hello"}]
SYSTEM = "Be brief."
TOOLS = [{"name": "get_order", "description": "Look an order up", "input_schema": {"type": "object"}}]
TEXT_BLOCK = {"type": "text", "text": TEXT}
TOOL_BLOCK = {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"order_id": "A1"}}
# claude-haiku-4-5: $1 input, $0.10 cache reads, $5 output per 1M tokens; the server reports 20 fresh input
# tokens, 100 read from the cache and 7 output tokens.
COST = round((20 * 1.00 + 100 * 0.10 + 7 * 5.00) / 1e6, 10)


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as srv:
        yield srv


@pytest.fixture
def client(wire: WireServer) -> Iterator[anthropic.Anthropic]:
    instrument("anthropic")
    with anthropic.Anthropic(base_url=wire.url, api_key="test-key", max_retries=0) as c:
        yield c
    uninstrument("anthropic")


@pytest.fixture
def aclient(wire: WireServer) -> Iterator[anthropic.AsyncAnthropic]:
    instrument("anthropic")
    yield anthropic.AsyncAnthropic(base_url=wire.url, api_key="test-key", max_retries=0)
    uninstrument("anthropic")


def only_span(cap: CaptureExporter) -> Span:
    spans = cap.spans
    assert len(spans) == 1, spans
    return spans[0]


def expected_attributes(wire: WireServer, stop: str = "end_turn", **extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 256,
        "server.address": "127.0.0.1",
        "server.port": int(wire.url.rsplit(":", 1)[1]),
        "gen_ai.response.model": "claude-haiku-4-5-20251001",
        "gen_ai.response.id": "msg_1",
        "gen_ai.response.finish_reasons": [stop],
        "gen_ai.usage.input_tokens": 120,  # fresh + cached, as the GenAI conventions count them
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "usage.total_tokens": 127,
        "spanscope.cost_usd": COST,
        **extra,
    }


def test_plain_call_becomes_an_llm_span(client: anthropic.Anthropic, cap: CaptureExporter, wire: WireServer) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system=SYSTEM,
        messages=MESSAGES,
        stop_sequences=["END"],
        extra_body={"temperature": 0.3, "top_k": 5},
    )
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].text == TEXT  # type: ignore[union-attr]

    s = only_span(cap)
    assert (s.name, s.kind, s.status) == (f"chat {MODEL}", "llm", "OK")
    assert s.attributes == expected_attributes(
        wire,
        **{
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.top_k": 5,
            "gen_ai.request.stop_sequences": ["END"],
        },
    )
    assert s.inputs == {"system": SYSTEM, "messages": MESSAGES}
    assert s.outputs == {"role": "assistant", "content": [TEXT_BLOCK], "stop_reason": "end_turn"}


def test_tool_use(client: anthropic.Anthropic, cap: CaptureExporter) -> None:
    message = client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, tools=TOOLS)
    assert message.stop_reason == "tool_use"
    s = only_span(cap)
    assert s.inputs == {"messages": MESSAGES, "tools": TOOLS}
    assert s.outputs == {"role": "assistant", "content": [TEXT_BLOCK, TOOL_BLOCK], "stop_reason": "tool_use"}
    assert s.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]


def test_stream_is_assembled_like_a_plain_answer(
    client: anthropic.Anthropic, cap: CaptureExporter, wire: WireServer
) -> None:
    client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, tools=TOOLS)
    stream = client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, tools=TOOLS, stream=True)
    assert isinstance(stream, anthropic.Stream)
    assert len(cap.spans) == 1  # the streamed call's span is still open
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"

    plain, streamed = cap.spans
    assert streamed.outputs == plain.outputs
    assert streamed.attributes == plain.attributes == expected_attributes(wire, stop="tool_use")


def test_stream_helper_context_manager(client: anthropic.Anthropic, cap: CaptureExporter) -> None:
    with spanscope.sdk.span("turn") as turn:
        with client.messages.stream(model=MODEL, max_tokens=256, system=SYSTEM, messages=MESSAGES) as stream:
            assert "".join(stream.text_stream) == TEXT
            assert stream.get_final_message().stop_reason == "end_turn"
        assert spanscope.sdk.current_span() is turn
    llm = next(s for s in cap.spans if s.kind == "llm")
    assert llm.parent_span_id == turn.span_id
    assert llm.inputs == {"system": SYSTEM, "messages": MESSAGES}
    assert llm.outputs == {"role": "assistant", "content": [TEXT_BLOCK], "stop_reason": "end_turn"}
    assert llm.attributes["usage.total_tokens"] == 127


def test_stream_helper_left_early(client: anthropic.Anthropic, cap: CaptureExporter) -> None:
    with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    s = only_span(cap)
    assert s.status == "OK"
    assert s.outputs == {"role": "assistant", "content": [{"type": "text", "text": "Hel"}], "stop_reason": None}
    assert s.attributes["gen_ai.usage.input_tokens"] == 120  # from message_start


def test_error_event_in_the_stream(client: anthropic.Anthropic, cap: CaptureExporter) -> None:
    stream = client.messages.create(model="error-midstream", max_tokens=256, messages=MESSAGES, stream=True)
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        for _ in stream:
            pass
    s = only_span(cap)
    assert s.status == "ERROR"
    assert s.outputs["content"] == [{"type": "text", "text": "Hello"}]  # what arrived before the error
    assert s.events[-1].name == "exception"


@pytest.mark.parametrize(
    ("model", "error"), [("error-400", anthropic.BadRequestError), ("error-500", anthropic.InternalServerError)]
)
def test_errors_mark_the_span_and_reach_the_caller_unchanged(
    client: anthropic.Anthropic, cap: CaptureExporter, model: str, error: type[Exception]
) -> None:
    with pytest.raises(error, match="simulated"):
        client.messages.create(model=model, max_tokens=256, messages=MESSAGES)
    s = only_span(cap)
    assert (s.status, s.kind) == ("ERROR", "llm")
    assert s.attributes["error.type"] == error.__qualname__
    (event,) = s.events
    assert event.attributes["exception.type"] == f"anthropic.{error.__qualname__}"


def test_stream_helper_error_before_the_stream(client: anthropic.Anthropic, cap: CaptureExporter) -> None:
    with (
        pytest.raises(anthropic.BadRequestError),
        client.messages.stream(model="error-400", max_tokens=256, messages=MESSAGES),
    ):
        pass
    assert only_span(cap).status == "ERROR"


def test_async_plain_stream_and_helper(
    aclient: anthropic.AsyncAnthropic, cap: CaptureExporter, wire: WireServer
) -> None:
    async def main() -> list[str]:
        message = await aclient.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)
        stream = await aclient.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        streamed = "".join(
            [e.delta.text async for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta"]
        )
        async with aclient.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as helper:
            final = await helper.get_final_text()
        await aclient.close()
        return [message.content[0].text, streamed, final]  # type: ignore[union-attr]

    assert asyncio.run(main()) == [TEXT, TEXT, TEXT]
    assert len(cap.spans) == 3
    for s in cap.spans:
        assert (s.kind, s.status) == ("llm", "OK")
        assert s.outputs == {"role": "assistant", "content": [TEXT_BLOCK], "stop_reason": "end_turn"}
        assert s.attributes == expected_attributes(wire)


def test_async_error(aclient: anthropic.AsyncAnthropic, cap: CaptureExporter) -> None:
    async def main() -> None:
        try:
            await aclient.messages.create(model="error-400", max_tokens=256, messages=MESSAGES)
        finally:
            await aclient.close()

    with pytest.raises(anthropic.BadRequestError):
        asyncio.run(main())
    assert only_span(cap).status == "ERROR"


def test_uninstrument_restores_the_originals() -> None:
    originals = {
        (cls, name): cls.__dict__[name]
        for cls in (messages_module.Messages, messages_module.AsyncMessages)
        for name in ("create", "stream")
    }
    instrument("anthropic")
    instrument("anthropic")
    assert all(cls.__dict__[name] is not fn for (cls, name), fn in originals.items())
    assert uninstrument("anthropic") is True
    assert all(cls.__dict__[name] is fn for (cls, name), fn in originals.items())
