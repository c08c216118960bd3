"""``instrument("anthropic")``: a span of kind ``llm`` per ``client.messages.create`` call.

Sync and async clients, ``stream=True``, and the ``client.messages.stream(...)`` context manager (the span
starts when it is entered). Inputs are ``{"system": ..., "messages": [...], "tools": [...]}`` as sent;
outputs are ``{"role": "assistant", "content": [blocks], "stop_reason": ...}`` with the text,
``tool_use`` (``input`` parsed from the streamed JSON) and thinking blocks, the same shape whether the
answer was streamed or not.

Anthropic counts cached prompt tokens apart from ``input_tokens``; ``gen_ai.usage.input_tokens`` is the
sum (as the GenAI conventions ask), with the cached shares in ``gen_ai.usage.cache_read.input_tokens``
and ``gen_ai.usage.cache_creation.input_tokens``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from spanscope.sdk.instrument import genai
from spanscope.sdk.instrument.patching import Switch, given, wrap_close, wrap_create, wrap_stream_method

PROVIDER = "anthropic"
_NUMERIC = ("temperature", "top_p", "top_k")


def _block(block: Any) -> Any:
    dump = getattr(block, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else block


def _usage_attributes(
    model: Any, message_id: Any, stop_reason: Any, usage: dict[str, Any], request_model: Any
) -> dict[str, Any]:
    fresh, read, write = (
        usage.get("input_tokens"),
        usage.get("cache_read_input_tokens"),
        usage.get("cache_creation_input_tokens"),
    )
    input_tokens = None
    if genai.is_number(fresh):
        input_tokens = int(fresh) + sum(int(v) for v in (read, write) if genai.is_number(v))
    return genai.response_attributes(
        PROVIDER, model, message_id, [str(stop_reason)] if stop_reason else [], input_tokens,
        usage.get("output_tokens"), cache_read=read, cache_write=write, request_model=request_model,
    )  # fmt: skip


def _usage_dict(usage: Any) -> dict[str, Any]:
    if usage is None:
        return {}
    keys = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return {k: v for k in keys if (v := getattr(usage, k, None)) is not None}


class _Hooks:
    def start(self, resource: Any, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        model = kwargs.get("model")
        attributes = genai.base_attributes(PROVIDER, model)
        # Sampling parameters the SDK no longer names still reach the API through ``extra_body``.
        extra = kwargs.get("extra_body")
        if isinstance(extra, dict):
            attributes.update(genai.numeric_parameters(extra, _NUMERIC))
        attributes.update(genai.numeric_parameters(kwargs, _NUMERIC))
        if genai.is_number(kwargs.get("max_tokens")):
            attributes[genai.MAX_TOKENS] = kwargs["max_tokens"]
        stop = genai.stop_sequences(kwargs.get("stop_sequences"))
        if stop:
            attributes[genai.STOP_SEQUENCES] = stop
        attributes.update(genai.server_attributes(resource))
        inputs: dict[str, Any] = {}
        system = kwargs.get("system")
        if given(system):
            inputs["system"] = list(system) if isinstance(system, list | tuple) else system
        messages = kwargs.get("messages")
        # A shallow copy: chat loops append the reply to the same list right after the call.
        inputs["messages"] = list(messages) if isinstance(messages, list | tuple) else messages
        tools = kwargs.get("tools")
        if given(tools):
            inputs["tools"] = list(tools) if isinstance(tools, list | tuple) else tools
        return f"chat {model}" if isinstance(model, str) else "chat", attributes, inputs

    def record(self, span: Any, message: Any, kwargs: dict[str, Any]) -> None:
        content = getattr(message, "content", None)
        if not isinstance(content, list):
            return  # e.g. the raw HTTP response of ``with_raw_response``
        span.set_outputs(
            {
                "role": getattr(message, "role", None) or "assistant",
                "content": [_block(b) for b in content],
                "stop_reason": getattr(message, "stop_reason", None),
            }
        )
        span.set_attributes(
            _usage_attributes(
                getattr(message, "model", None), getattr(message, "id", None), getattr(message, "stop_reason", None),
                _usage_dict(getattr(message, "usage", None)), kwargs.get("model"),
            )
        )  # fmt: skip

    def accumulator(self, kwargs: dict[str, Any]) -> _Events:
        return _Events(kwargs.get("model"))


class _Events:
    """Assembles the raw stream events (``message_start``, ``content_block_*``, ``message_delta``)."""

    def __init__(self, request_model: Any) -> None:
        self.request_model = request_model
        self.id: Any = None
        self.model: Any = None
        self.role = "assistant"
        self.stop_reason: Any = None
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = event.message
            self.id, self.model = message.id, message.model
            self.role = getattr(message, "role", None) or "assistant"
            self.usage.update(_usage_dict(getattr(message, "usage", None)))
        elif kind == "content_block_start":
            block = _block(event.content_block)
            self.blocks[event.index] = block if isinstance(block, dict) else {"value": block}
        elif kind == "content_block_delta":
            block = self.blocks.setdefault(event.index, {})
            delta = event.delta
            dtype = getattr(delta, "type", None)
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta.text
            elif dtype == "input_json_delta":
                self.json.setdefault(event.index, []).append(delta.partial_json)
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.thinking
            elif dtype == "signature_delta":
                block["signature"] = delta.signature
            elif dtype == "citations_delta":
                block.setdefault("citations", []).append(_block(delta.citation))
        elif kind == "content_block_stop":
            self._parse_json(event.index)
        elif kind == "message_delta":
            stop = getattr(event.delta, "stop_reason", None)
            if stop:
                self.stop_reason = stop
            # message_delta carries cumulative counts; input counts may be absent (None) here.
            self.usage.update(_usage_dict(getattr(event, "usage", None)))

    def _parse_json(self, index: int) -> None:
        parts = self.json.pop(index, None)
        if not parts:
            return
        text = "".join(parts)
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text  # cut short: keep the partial JSON rather than nothing
        self.blocks.setdefault(index, {})["input"] = value

    def finish(self, span: Any) -> None:
        for index in list(self.json):
            self._parse_json(index)
        span.set_outputs(
            {
                "role": self.role,
                "content": [self.blocks[i] for i in sorted(self.blocks)],
                "stop_reason": self.stop_reason,
            }
        )
        span.set_attributes(_usage_attributes(self.model, self.id, self.stop_reason, self.usage, self.request_model))


def _streaming(kwargs: dict[str, Any]) -> bool:
    return kwargs.get("stream") is True


def targets(switch: Switch) -> list[tuple[type, str, Callable[..., Any]]]:
    """The methods to wrap: ``messages.create``/``stream`` (sync and async) and the streams' ``close``."""
    import anthropic
    from anthropic.resources.messages import messages

    hooks = _Hooks()
    return [
        (messages.Messages, "create", wrap_create(hooks, switch, _streaming, is_async=False)),
        (messages.AsyncMessages, "create", wrap_create(hooks, switch, _streaming, is_async=True)),
        (messages.Messages, "stream", wrap_stream_method(hooks, switch)),
        (messages.AsyncMessages, "stream", wrap_stream_method(hooks, switch)),
        (anthropic.Stream, "close", wrap_close),
        (anthropic.AsyncStream, "close", wrap_close),
    ]
