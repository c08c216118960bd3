"""A tiny scripted ingest server on 127.0.0.1 for fault-injection tests (answers, statuses, delays)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = {"accepted": {"traces": 0, "spans": 0, "findings": 0}, "rejected": []}


@dataclass
class Recorder:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    # Scripted answers (status, headers), used in order; afterwards 200.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0  # seconds every request waits before it is answered
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)

    def spans(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for b in self.bodies for s in b.get("spans", [])]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.recorder.arrived.set()
        if self.recorder.delay:
            time.sleep(self.recorder.delay)
        with self.recorder.lock:
            status, headers = self.recorder.script.pop(0) if self.recorder.script else (200, {})
            if status == 200:
                data = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                self.recorder.bodies.append(json.loads(data))
        payload = json.dumps(OK_BODY if status == 200 else {"error": "scripted"}).encode()
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout, exit): fine

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def fake_ingest(delay: float = 0.0) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(delay=delay)
    handler = type("Handler", (_Handler,), {"recorder": recorder})
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def dead_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@contextmanager
def blackhole() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
