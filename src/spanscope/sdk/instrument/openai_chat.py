"""``instrument("openai")``: a span of kind ``llm`` per ``client.chat.completions.create`` call.

Sync and async clients, plain and streaming (``stream=True``; with ``stream_options={"include_usage":
True}`` the final chunk's usage is recorded). Inputs are ``{"messages": [...], "tools": [...]}`` as sent;
outputs are ``{"choices": [{"index", "finish_reason", "message": {"role", "content", "tool_calls"}}]}``,
the same shape whether the answer was streamed or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spanscope.sdk.instrument import genai
from spanscope.sdk.instrument.patching import Switch, given, wrap_close, wrap_create

PROVIDER = "openai"
_NUMERIC = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "seed")


def _usage(usage: Any) -> tuple[Any, Any, Any]:
    if usage is None:
        return None, None, None
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None), cached


def _tool_call(call: Any) -> dict[str, Any]:
    function = getattr(call, "function", None)
    if function is None:  # custom tools and future kinds: keep what the SDK parsed
        dump = getattr(call, "model_dump", None)
        return dump(mode="json", exclude_none=True) if callable(dump) else {"value": repr(call)}
    return {
        "id": call.id,
        "type": getattr(call, "type", None) or "function",
        "function": {"name": function.name, "arguments": function.arguments},
    }


class _Hooks:
    def start(self, resource: Any, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        model = kwargs.get("model")
        attributes = genai.base_attributes(PROVIDER, model)
        attributes.update(genai.numeric_parameters(kwargs, _NUMERIC))
        max_tokens = kwargs.get("max_completion_tokens")
        if not genai.is_number(max_tokens):
            max_tokens = kwargs.get("max_tokens")
        if genai.is_number(max_tokens):
            attributes[genai.MAX_TOKENS] = max_tokens
        n = kwargs.get("n")
        if genai.is_number(n) and n != 1:
            attributes[genai.CHOICE_COUNT] = n
        stop = genai.stop_sequences(kwargs.get("stop"))
        if stop:
            attributes[genai.STOP_SEQUENCES] = stop
        attributes.update(genai.server_attributes(resource))
        inputs: dict[str, Any] = {}
        messages = kwargs.get("messages")
        # A shallow copy: chat loops append the reply to the same list right after the call.
        inputs["messages"] = list(messages) if isinstance(messages, list | tuple) else messages
        tools = kwargs.get("tools")
        if given(tools):
            inputs["tools"] = list(tools) if isinstance(tools, list | tuple) else tools
        return f"chat {model}" if isinstance(model, str) else "chat", attributes, inputs

    def record(self, span: Any, completion: Any, kwargs: dict[str, Any]) -> None:
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list):
            return  # e.g. the raw HTTP response of ``with_raw_response``
        outputs = []
        finish_reasons = []
        for choice in choices:
            message = choice.message
            out: dict[str, Any] = {"role": getattr(message, "role", None) or "assistant", "content": message.content}
            if getattr(message, "tool_calls", None):
                out["tool_calls"] = [_tool_call(c) for c in message.tool_calls]
            if getattr(message, "refusal", None):
                out["refusal"] = message.refusal
            outputs.append({"index": choice.index, "finish_reason": choice.finish_reason, "message": out})
            if choice.finish_reason:
                finish_reasons.append(str(choice.finish_reason))
        span.set_outputs({"choices": outputs})
        prompt, completion_tokens, cached = _usage(getattr(completion, "usage", None))
        span.set_attributes(
            genai.response_attributes(
                PROVIDER, getattr(completion, "model", None), getattr(completion, "id", None), finish_reasons,
                prompt, completion_tokens, cache_read=cached, request_model=kwargs.get("model"),
            )
        )  # fmt: skip

    def accumulator(self, kwargs: dict[str, Any]) -> _Chunks:
        return _Chunks(kwargs.get("model"))


class _Chunks:
    """Assembles ``ChatCompletionChunk``s into the same outputs and attributes as a plain response."""

    def __init__(self, request_model: Any) -> None:
        self.request_model = request_model
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.choices: dict[int, dict[str, Any]] = {}

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "id", None):
            self.id = chunk.id
        if getattr(chunk, "model", None):
            self.model = chunk.model
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in getattr(chunk, "choices", None) or ():
            state = self.choices.get(choice.index)
            if state is None:
                state = self.choices[choice.index] = {
                    "role": None, "content": [], "refusal": [], "tools": {}, "finish_reason": None,
                }  # fmt: skip
            delta = choice.delta
            if delta is not None:
                if delta.role:
                    state["role"] = delta.role
                if delta.content:
                    state["content"].append(delta.content)
                if getattr(delta, "refusal", None):
                    state["refusal"].append(delta.refusal)
                for call in getattr(delta, "tool_calls", None) or ():
                    # Some OpenAI-compatible servers leave out the index: one call per delta then.
                    key = call.index if call.index is not None else len(state["tools"])
                    slot = state["tools"].get(key)
                    if slot is None:
                        slot = state["tools"][key] = {"id": None, "type": None, "name": [], "arguments": []}
                    if call.id:
                        slot["id"] = call.id
                    if call.type:
                        slot["type"] = call.type
                    if call.function is not None:
                        if call.function.name:
                            slot["name"].append(call.function.name)
                        if call.function.arguments:
                            slot["arguments"].append(call.function.arguments)
            if choice.finish_reason:
                state["finish_reason"] = choice.finish_reason

    def finish(self, span: Any) -> None:
        outputs = []
        finish_reasons = []
        for index in sorted(self.choices):
            state = self.choices[index]
            message: dict[str, Any] = {
                "role": state["role"] or "assistant",
                "content": "".join(state["content"]) if state["content"] else None,
            }
            if state["tools"]:
                message["tool_calls"] = [
                    {
                        "id": slot["id"],
                        "type": slot["type"] or "function",
                        "function": {"name": "".join(slot["name"]), "arguments": "".join(slot["arguments"])},
                    }
                    for _, slot in sorted(state["tools"].items())
                ]
            if state["refusal"]:
                message["refusal"] = "".join(state["refusal"])
            outputs.append({"index": index, "finish_reason": state["finish_reason"], "message": message})
            if state["finish_reason"]:
                finish_reasons.append(str(state["finish_reason"]))
        span.set_outputs({"choices": outputs})
        prompt, completion_tokens, cached = _usage(self.usage)
        span.set_attributes(
            genai.response_attributes(
                PROVIDER, self.model, self.id, finish_reasons, prompt, completion_tokens, cache_read=cached,
                request_model=self.request_model,
            )
        )  # fmt: skip


def _streaming(kwargs: dict[str, Any]) -> bool:
    return kwargs.get("stream") is True


def targets(switch: Switch) -> list[tuple[type, str, Callable[..., Any]]]:
    """The methods to wrap: the chat completions ``create`` methods and the stream classes' ``close``."""
    import openai
    from openai.resources.chat.completions import completions

    hooks = _Hooks()
    return [
        (completions.Completions, "create", wrap_create(hooks, switch, _streaming, is_async=False)),
        (completions.AsyncCompletions, "create", wrap_create(hooks, switch, _streaming, is_async=True)),
        (openai.Stream, "close", wrap_close),
        (openai.AsyncStream, "close", wrap_close),
    ]
