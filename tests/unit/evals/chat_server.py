"""A local OpenAI-compatible chat-completions server for judge tests (http.server on 127.0.0.1).

It grades like a tiny judge: score 5 when the output contains the reference, else 2. Words in the
output switch behaviours: ``FAIL500`` answers HTTP 500, ``FAIL400`` HTTP 400, ``GARBAGE`` a reply that is
not JSON, ``OFFSCALE`` a score of 9, ``LABEL`` a ``{"label": "good"}`` reply.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                user = body["messages"][-1]["content"]
                output = user.split("Output:\n", 1)[1].split("\n\nExpected", 1)[0]
                expected = (
                    user.split("Expected (reference) output:\n", 1)[1] if "Expected (reference)" in user else None
                )
                if "FAIL500" in output:
                    return self._send(500, {"error": {"message": "overloaded"}})
                if "FAIL400" in output:
                    return self._send(400, {"error": {"message": "bad model"}})
                if "GARBAGE" in output:
                    content = "I think it is fine."
                elif "OFFSCALE" in output:
                    content = json.dumps({"score": 9, "rationale": "off the chart"})
                elif "LABEL" in output:
                    content = json.dumps({"label": "good", "rationale": "labelled"})
                else:
                    good = expected is not None and re.sub(r"\W", "", expected) in re.sub(r"\W", "", output)
                    score = 5 if good else 2
                    content = "Here you go: " + json.dumps({"score": score, "rationale": f"graded {score}"})
                self._send(200, {"id": "c1", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                              "finish_reason": "stop"}]})  # fmt: skip

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    srv = ChatServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
