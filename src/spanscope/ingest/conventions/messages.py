"""Chat messages from every convention, normalized to one shape (see ``base`` for the shape)."""

from __future__ import annotations

from typing import Any

from spanscope.ingest.conventions.base import parse_json


def _arguments(value: Any) -> Any:
    # Tool-call arguments arrive as a JSON string (OpenAI, OpenInference) or an object (GenAI semconv);
    # parsed objects make ``span.outputs.messages[0].tool_calls[0].function.arguments.city`` filterable.
    parsed = parse_json(value)
    return parsed if isinstance(parsed, dict | list) else value


def tool_call(value: Any) -> dict[str, Any] | None:
    """``{"id", "name", "arguments"}``, ``{"id", "function": {...}}`` or ``{"tool_call": {...}}`` -> one shape."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("tool_call"), dict):
        value = value["tool_call"]
    fn = value.get("function")
    if isinstance(fn, dict):
        name, arguments = fn.get("name"), fn.get("arguments")
    else:
        name, arguments = value.get("name"), value.get("arguments")
    out: dict[str, Any] = {}
    if value.get("id") is not None:
        out["id"] = value["id"]
    kind = value.get("type")
    out["type"] = kind if isinstance(kind, str) and kind != "tool_call" else "function"
    function: dict[str, Any] = {"name": name}
    if arguments is not None:
        function["arguments"] = _arguments(arguments)
    out["function"] = function
    return out


def _tool_calls(value: Any) -> list[dict[str, Any]]:
    value = parse_json(value)
    if not isinstance(value, list):
        return []
    return [tc for tc in (tool_call(v) for v in value) if tc is not None]


def chat_message(value: Any) -> dict[str, Any] | None:
    """An OpenAI-like message (legacy ``gen_ai.prompt.N.*`` re-nested, MLflow, message events) -> one shape."""
    value = parse_json(value)
    if not isinstance(value, dict):
        return None
    if "parts" in value and isinstance(value["parts"], list):
        return genai_message(value)
    out: dict[str, Any] = {"role": value.get("role"), "content": value.get("content")}
    calls = _tool_calls(value.get("tool_calls"))
    fn = value.get("function_call")
    if not calls and isinstance(fn, dict):
        calls = [c for c in (tool_call({"function": fn}),) if c]
    if calls:
        out["tool_calls"] = calls
    for key in ("tool_call_id", "name", "finish_reason"):
        if value.get(key) is not None:
            out[key] = value[key]
    return out


def genai_message(value: Any) -> dict[str, Any] | None:
    """A GenAI semconv message (``{"role", "parts": [...], "finish_reason"}``) -> one shape.

    Text parts are joined into ``content``, ``tool_call`` parts become ``tool_calls``, a ``tool_call_response``
    part becomes ``tool_call_id`` + ``content``. Messages with other parts (blobs, uris, reasoning…) also keep
    the original ``parts``.
    """
    value = parse_json(value)
    if not isinstance(value, dict):
        return None
    parts = value.get("parts")
    if not isinstance(parts, list):
        return chat_message({k: v for k, v in value.items() if k != "parts"})
    texts: list[str] = []
    content: Any = None
    calls: list[dict[str, Any]] = []
    keep_parts = False
    out: dict[str, Any] = {"role": value.get("role")}
    for part in parts:
        if not isinstance(part, dict):
            keep_parts = True
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif kind == "tool_call":
            call = tool_call(part)
            if call:
                calls.append(call)
        elif kind == "tool_call_response":
            if part.get("id") is not None:
                out["tool_call_id"] = part["id"]
            response = part.get("response", part.get("result"))
            if isinstance(response, str):
                texts.append(response)
            else:
                content = response
        else:
            keep_parts = True
    out["content"] = "\n".join(texts) if texts else content
    if calls:
        out["tool_calls"] = calls
    for key in ("name", "finish_reason"):
        if value.get(key) is not None:
            out[key] = value[key]
    if keep_parts:
        out["parts"] = parts
    return out


def genai_messages(value: Any) -> list[dict[str, Any]] | None:
    """``gen_ai.input.messages`` / ``gen_ai.output.messages`` (a JSON string or a structured value)."""
    value = parse_json(value)
    if not isinstance(value, list):
        return None
    out = [m for m in (genai_message(v) for v in value) if m is not None]
    return out or None


def system_message(value: Any) -> dict[str, Any] | None:
    """``gen_ai.system_instructions`` (a list of parts, or plain text) as a leading system message."""
    value = parse_json(value)
    if isinstance(value, str) and value:
        return {"role": "system", "content": value}
    if isinstance(value, list):
        return genai_message({"role": "system", "parts": value})
    return None


def chat_messages(value: Any) -> list[dict[str, Any]] | None:
    value = parse_json(value)
    if not isinstance(value, list):
        return None
    out = [m for m in (chat_message(v) for v in value) if m is not None]
    return out or None


def openinference_message(value: Any) -> dict[str, Any] | None:
    """A re-nested ``llm.input_messages.N`` item (``{"message": {"role", "content", "tool_calls"…}}``)."""
    if not isinstance(value, dict):
        return None
    m = value.get("message", value)
    if not isinstance(m, dict):
        return None
    out: dict[str, Any] = {"role": m.get("role"), "content": m.get("content")}
    contents = m.get("contents")
    if isinstance(contents, list):
        items = []
        for c in contents:
            c = c.get("message_content", c) if isinstance(c, dict) else c
            if not isinstance(c, dict):
                continue
            if c.get("type") == "image":
                image = c.get("image")
                url = image.get("image", image).get("url") if isinstance(image, dict) else None
                items.append({"type": "image", "url": url})
            else:
                items.append({"type": c.get("type") or "text", "text": c.get("text")})
        if out["content"] is None and items and all(i["type"] == "text" for i in items):
            out["content"] = "\n".join(str(i["text"]) for i in items if i["text"] is not None)
        else:
            out["contents"] = items
    calls = _tool_calls(m.get("tool_calls"))
    if not calls and m.get("function_call_name") is not None:
        calls = [
            c
            for c in (tool_call({"name": m["function_call_name"], "arguments": m.get("function_call_arguments_json")}),)
            if c
        ]
    if calls:
        out["tool_calls"] = calls
    for key in ("tool_call_id", "name"):
        if m.get(key) is not None:
            out[key] = m[key]
    return out


def openinference_messages(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    out = [m for m in (openinference_message(v) for v in value) if m is not None]
    return out or None
