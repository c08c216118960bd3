"""Production traces as OpenAI chat fine-tuning examples (``{"messages": [...]}`` per JSONL line).

For a record that links to a trace, the conversation is the message list of the trace's last LLM span
(``kind = "llm"`` with ``inputs.messages``; or the span named ``span_name``, or the record's source span)
followed by that span's reply (``outputs.choices[0].message``, or ``outputs.message`` / a text output).
System, user, assistant (with ``tool_calls``) and tool turns are kept with the keys the fine-tuning format
uses. With ``use_expected`` the record's ``expected`` text replaces the final reply, so curated ground truth
becomes the training target. A record without a trace falls back to its ``messages`` field, else to
``input`` -> ``expected`` (or ``output``). Standard library only.
"""

from __future__ import annotations

import json
from typing import Any, Final

ROLES: Final = ("system", "developer", "user", "assistant", "tool")
_KEEP: Final = ("role", "content", "name", "tool_calls", "tool_call_id")


def _content(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and "type" in p for p in value):
        return value  # content parts
    return json.dumps(value, ensure_ascii=False)


def normalize_message(message: Any) -> dict[str, Any] | None:
    """A chat message with only the fine-tuning keys, or None if it is not one."""
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        return None
    out = {k: message[k] for k in _KEEP if message.get(k) is not None}
    out["content"] = _content(message.get("content"))
    calls = out.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            del out["tool_calls"]
        else:
            out["tool_calls"] = [
                {"id": c.get("id"), "type": c.get("type", "function"), "function": c.get("function")}
                for c in calls
                if isinstance(c, dict) and isinstance(c.get("function"), dict)
            ]
    if out["role"] != "assistant" and out["content"] is None:
        out["content"] = ""
    return out


def reply_of(outputs: Any) -> dict[str, Any] | None:
    """The assistant message a span produced."""
    if isinstance(outputs, dict):
        choices = outputs.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            msg = choices[0].get("message")
            if isinstance(msg, dict):
                return normalize_message({"role": "assistant", **msg})
        msg = outputs.get("message")
        if isinstance(msg, dict):
            return normalize_message({"role": "assistant", **msg})
        for key in ("content", "response", "output", "text"):
            if isinstance(outputs.get(key), str):
                return {"role": "assistant", "content": outputs[key]}
    if isinstance(outputs, str):
        return {"role": "assistant", "content": outputs}
    return None


def _has_messages(span: dict[str, Any]) -> bool:
    inputs = span.get("inputs")
    return isinstance(inputs, dict) and isinstance(inputs.get("messages"), list) and bool(inputs["messages"])


def pick_span(
    spans: list[dict[str, Any]], source_span_id: str | None = None, span_name: str | None = None
) -> dict[str, Any] | None:
    with_messages = [s for s in spans if _has_messages(s)]
    by_end = sorted(with_messages, key=lambda s: (s.get("end_time_ns") or 0, s.get("start_time_ns") or 0))
    if span_name is not None:
        named = [s for s in by_end if s.get("name") == span_name]
        return named[-1] if named else None
    llm = [s for s in by_end if s.get("kind") == "llm" and reply_of(s.get("outputs")) is not None]
    if llm:
        return llm[-1]
    source = [s for s in by_end if s.get("span_id") == source_span_id]
    return (source or by_end or [None])[-1]


def chat_example(
    record: dict[str, Any], trace: dict[str, Any] | None, *, use_expected: bool = True, span_name: str | None = None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """``(messages, None)`` for one record, or ``(None, reason)`` when it can't make an example."""
    messages: list[dict[str, Any]] = []
    fields = record.get("fields") or {}
    span = pick_span(trace.get("spans") or [], record.get("source_span_id"), span_name) if trace else None
    if span is not None:
        messages = [m for m in (normalize_message(x) for x in span["inputs"]["messages"]) if m is not None]
        reply = reply_of(span.get("outputs"))
        if reply is not None:
            messages.append(reply)
    elif isinstance(fields.get("messages"), list):
        messages = [m for m in (normalize_message(x) for x in fields["messages"]) if m is not None]
    elif fields.get("input") is not None:
        messages = [{"role": "user", "content": _content(fields["input"])}]
        answer = fields.get("output")
        if answer is not None:
            messages.append({"role": "assistant", "content": _content(answer)})
    expected = record.get("expected")
    if use_expected and expected is not None:
        if messages and messages[-1]["role"] == "assistant":
            messages = messages[:-1]
        messages.append({"role": "assistant", "content": _content(expected)})
    if not messages:
        return None, "no messages: no LLM span with inputs.messages in its trace, and no messages/input field"
    if not any(m["role"] == "user" for m in messages):
        return None, "no user message"
    last = messages[-1]
    if last["role"] != "assistant" or (last.get("content") in (None, "") and not last.get("tool_calls")):
        return None, "no final assistant reply"
    return messages, None
