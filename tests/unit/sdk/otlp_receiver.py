"""A loopback OTLP/HTTP receiver that decodes what it gets as a collector would.

Each POST body is gunzipped and parsed with ``opentelemetry-proto``'s ``ExportTraceServiceRequest`` through
``google.protobuf.json_format.Parse`` (strict: an unknown field or a wrong type fails the request with 400).
OTLP/JSON differs from protobuf's default JSON mapping in one place: trace and span ids are hex, not
base64 (the collector special-cases them too), so they are converted first. Replies are scripted: a queue
of ``(status, headers, body)``; once empty, 200 with an empty ``ExportTraceServiceResponse``.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                out[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def decode(body: bytes, encoding: str | None) -> ExportTraceServiceRequest:
    raw = gzip.decompress(body) if encoding == "gzip" else body
    message = ExportTraceServiceRequest()
    json_format.Parse(json.dumps(_hex_ids_to_base64(json.loads(raw))), message)
    return message


class _Handler(BaseHTTPRequestHandler):
    server: OtlpReceiver
    protocol_version = "HTTP/1.1"  # keep-alive, as collectors do

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_POST(self) -> None:
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with srv.lock:
            srv.attempts.append({"path": self.path, "headers": dict(self.headers)})
            reply = srv.replies.pop(0) if srv.replies else None
        if reply is not None and reply[0] != 200:
            self._send(*reply)
            return
        try:
            message = decode(body, self.headers.get("Content-Encoding"))
        except Exception as exc:  # a payload that isn't valid OTLP
            with srv.lock:
                srv.errors.append(repr(exc))
            self._send(400, {}, json.dumps({"code": 3, "message": repr(exc)}).encode())
            return
        with srv.lock:
            srv.received.append(message)
            srv.paths.append(self.path)
            srv.headers.append(dict(self.headers))
        if reply is not None:
            self._send(*reply)
        else:
            self._send(200, {}, b"{}")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class OtlpReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.replies: list[tuple[int, dict[str, str], bytes]] = []
        self.attempts: list[dict[str, Any]] = []
        self.received: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="otlp-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[Any]:
        return [s for m in self.received for rs in m.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
