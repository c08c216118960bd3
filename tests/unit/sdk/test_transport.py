"""HttpExporter against a tiny in-process HTTP server on 127.0.0.1 (no real spanscope server)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from spanscope.sdk import ExportBatch, HttpExporter, configure, flush, shutdown, span, stats, trace
from spanscope.sdk.transport import _retry_after

OK_BODY = {"accepted": {"traces": 0, "spans": 0, "findings": 0}, "rejected": []}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]
    connection: tuple[str, int]


@dataclass
class Recorder:
    requests: list[Received] = field(default_factory=list)
    # Scripted answers (status, headers, body), used in order; afterwards 200 with OK_BODY.
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 10
    recorder: Recorder

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        data = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        with self.recorder.lock:
            self.recorder.requests.append(
                Received(self.path, dict(self.headers), raw, json.loads(data), self.client_address)
            )
            script = self.recorder.script
            status, headers, body = script.pop(0) if script else (200, {}, OK_BODY)
        payload = json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if headers.get("X-Test-Drop") == "1":
            self.close_connection = True  # close without saying so: the client's connection goes stale

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins the handler threads


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    handler = type("Handler", (_Handler,), {"recorder": recorder})
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        shutdown(timeout=5)  # close the client side first: keep-alive handlers end with it
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_spans_reach_the_server(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    configure(endpoint=url, api_key="secret", project="proj", flush_interval=60)
    with trace("turn", tags={"q": 0.5}, user_id="u1") as t:
        with span("llm", kind="llm") as s:
            s.set_attributes({"usage.total_tokens": 12})
            s.set_inputs({"messages": [{"role": "user", "content": "hi"}]})
        t.add_finding("helpful", True, source="human")
    assert flush(timeout=5) is True

    (request,) = recorder.requests
    assert request.path == "/api/v1/ingest"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Spanscope-Project"] == "proj"
    assert request.headers["Authorization"] == "Bearer secret"
    assert "Content-Encoding" not in request.headers  # small bodies go uncompressed
    body = request.body
    assert [x["name"] for x in body["spans"]] == ["llm", "turn"]
    llm = body["spans"][0]
    assert llm["trace_id"] == t.trace_id and llm["parent_span_id"] == t.span_id and llm["kind"] == "llm"
    assert llm["attributes"] == {"usage.total_tokens": 12} and llm["status"] == "OK"
    assert llm["inputs"] == {"messages": [{"role": "user", "content": "hi"}]}
    assert body["traces"] == [{"trace_id": t.trace_id, "tags": {"q": 0.5}, "user_id": "u1"}]
    (finding,) = body["findings"]
    assert finding["value"] is True and finding["source"] == "human" and len(finding["finding_id"]) == 32


def test_large_bodies_are_gzipped_and_the_connection_is_reused(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    configure(endpoint=url, flush_interval=60)
    with span("big") as s:
        s.set_inputs({"text": "lorem ipsum " * 500})
    assert flush(timeout=5) is True
    with span("second"):
        pass
    assert flush(timeout=5) is True
    first, second = recorder.requests
    assert first.headers["Content-Encoding"] == "gzip" and len(first.raw) < 2000
    assert first.body["spans"][0]["inputs"]["text"].startswith("lorem ipsum")
    assert first.connection == second.connection  # one keep-alive connection
    assert "Authorization" not in first.headers


def test_a_stale_keep_alive_connection_is_replaced_at_once(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    recorder.script = [(200, {"X-Test-Drop": "1"}, OK_BODY)]
    configure(exporter=HttpExporter(url, backoff=30.0), flush_interval=60)
    for name in ("first", "second"):
        with span(name):
            pass
        assert flush(timeout=5) is True  # no 30 s backoff: the stale connection is retried right away
    first, second = recorder.requests
    assert first.connection != second.connection


def test_retries_on_5xx_and_429(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    recorder.script = [(500, {}, {"error": "boom"}), (429, {"Retry-After": "0"}, {}), (503, {}, {})]
    configure(exporter=HttpExporter(url, backoff=0.01), flush_interval=60)
    with span("persistent"):
        pass
    assert flush(timeout=5) is True
    assert len(recorder.requests) == 4
    assert all(r.body == recorder.requests[0].body for r in recorder.requests)
    assert stats()["exported"] == 1


def test_client_errors_are_not_retried(server: tuple[str, Recorder], caplog: pytest.LogCaptureFixture) -> None:
    url, recorder = server
    recorder.script = [(401, {}, {"error": "bad key"})]
    configure(exporter=HttpExporter(url, api_key="wrong", backoff=0.01), flush_interval=60)
    with span("x"):
        pass
    assert flush(timeout=5) is False
    assert len(recorder.requests) == 1 and stats()["export_failed"] == 1
    assert "SPANSCOPE_API_KEY" in caplog.text


def test_rejected_items_are_counted(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    recorder.script = [
        (
            200,
            {},
            {"accepted": {"spans": 1}, "rejected": [{"kind": "span", "index": 1, "reason": "name: Expected `str`"}]},
        )
    ]
    configure(endpoint=url, flush_interval=60)
    with span("a"), span("b"):
        pass
    assert flush(timeout=5) is False
    assert stats()["exported"] == 1 and stats()["export_failed"] == 1


def test_gives_up_at_the_flush_deadline() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exporter = HttpExporter(f"http://127.0.0.1:{port}", backoff=5.0, max_retries=10)
    start = time.monotonic()
    assert exporter.export(ExportBatch(deadline=time.monotonic() + 1.0)) is False
    assert time.monotonic() - start < 1.0  # the first backoff would overshoot the deadline: stop now
    exporter.shutdown()


def test_endpoint_validation_and_path_prefix() -> None:
    exporter = HttpExporter("https://example.com/spanscope/")
    assert exporter._path == "/spanscope/api/v1/ingest" and exporter._https
    with pytest.raises(ValueError):
        HttpExporter("ftp://example.com")


@pytest.mark.parametrize(("headers", "expected"), [
    (None, None), ({}, None), ({"Retry-After": "3"}, 3.0), ({"Retry-After": "-1"}, 0.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"Retry-After": "soon"}, None),
])  # fmt: skip
def test_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert _retry_after(headers) == expected
