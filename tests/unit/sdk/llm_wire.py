"""A loopback HTTP server speaking the OpenAI chat completions and Anthropic messages wire formats.

The real ``openai`` and ``anthropic`` clients talk to it through ``base_url``. What it answers depends on
the request: the model name picks a failure (``error-400``, ``error-500``, ``error-midstream``), ``tools``
in the request makes the model call a tool, ``stream`` answers with server-sent events (OpenAI
``data: {...}`` chunks ending in ``data: [DONE]``; Anthropic ``event: message_start`` …
``message_stop``) and otherwise with one JSON body. Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEXT_PARTS = ["Hel", "lo", " there!"]
TEXT = "".join(TEXT_PARTS)
OPENAI_TOOL_ARGS = ['{"order_id"', ': "A1"}']
ANTHROPIC_TOOL_JSON = ['{"order_id"', ': "A1"}']
CREATED = 1_700_000_000


def openai_usage(cached: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


class _Handler(BaseHTTPRequestHandler):
    server: WireServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        if self.path.endswith("/chat/completions"):
            self._openai(body)
        elif self.path.endswith("/messages"):
            self._anthropic(body)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    # --- plumbing ---------------------------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        for event, data in events:
            frame = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
            try:
                self.wfile.write(frame.encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped reading (a test that abandons its stream): a server moves on

    def _error(self, model: str, anthropic: bool) -> bool:
        status = {"error-400": 400, "error-500": 500}.get(model)
        if status is None:
            return False
        message = f"simulated {status} for {model}"
        if anthropic:
            kind = "invalid_request_error" if status == 400 else "api_error"
            self._json(status, {"type": "error", "error": {"type": kind, "message": message}})
        else:
            self._json(status, {"error": {"message": message, "type": "invalid_request_error", "param": None}})
        return True

    # --- OpenAI -----------------------------------------------------------------------------------
    def _openai(self, body: dict[str, Any]) -> None:
        model = body.get("model", "")
        if self._error(model, anthropic=False):
            return
        answer_model = f"{model}-2024-07-18" if model == "gpt-4o-mini" else model
        tools = bool(body.get("tools"))
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if tools else TEXT, "refusal": None}
            if tools:
                message["tool_calls"] = [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order", "arguments": "".join(OPENAI_TOOL_ARGS)},
                    }
                ]
            self._json(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": answer_model,
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "logprobs": None,
                            "finish_reason": "tool_calls" if tools else "stop",
                        }
                    ],
                    "usage": openai_usage(),
                },
            )
            return

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> tuple[None, str]:
            payload = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": answer_model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **extra,
            }
            return None, json.dumps(payload)

        events = [chunk({"role": "assistant", "content": "" if not tools else None})]
        if tools:
            first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": ""}}
            events.append(chunk({"tool_calls": [first]}))
            for part in OPENAI_TOOL_ARGS:
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            for part in TEXT_PARTS:
                events.append(chunk({"content": part}))
            events.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": answer_model,
                "choices": [],
                "usage": openai_usage(),
            }
            events.append((None, json.dumps(usage)))
        events.append((None, "[DONE]"))
        self._sse(events)

    # --- Anthropic --------------------------------------------------------------------------------
    def _anthropic(self, body: dict[str, Any]) -> None:
        model = body.get("model", "")
        if self._error(model, anthropic=True):
            return
        answer_model = f"{model}-20251001" if model == "claude-haiku-4-5" else model
        tools = bool(body.get("tools"))
        usage = {
            "input_tokens": 20,
            "output_tokens": 7,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0,
        }
        tool_block = {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"order_id": "A1"}}
        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": TEXT}]
            if tools:
                content.append(tool_block)
            self._json(
                200,
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": answer_model,
                    "content": content,
                    "stop_reason": "tool_use" if tools else "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return

        def ev(name: str, **payload: Any) -> tuple[str, str]:
            return name, json.dumps({"type": name, **payload})

        start_usage = {**usage, "output_tokens": 1}
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": answer_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        events = [ev("message_start", message=message), ("ping", json.dumps({"type": "ping"}))]
        events.append(ev("content_block_start", index=0, content_block={"type": "text", "text": ""}))
        for i, part in enumerate(TEXT_PARTS):
            events.append(ev("content_block_delta", index=0, delta={"type": "text_delta", "text": part}))
            if model == "error-midstream" and i == 1:
                error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                events.append(("error", json.dumps(error)))
                self._sse(events)
                return
        events.append(ev("content_block_stop", index=0))
        if tools:
            events.append(ev("content_block_start", index=1, content_block={**tool_block, "input": {}}))
            for part in ANTHROPIC_TOOL_JSON:
                events.append(
                    ev("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": part})
                )
            events.append(ev("content_block_stop", index=1))
        stop = "tool_use" if tools else "end_turn"
        events.append(
            ev("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": 7})
        )
        events.append(ev("message_stop"))
        self._sse(events)


class WireServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="llm-wire", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
