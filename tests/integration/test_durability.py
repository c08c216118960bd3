"""An acknowledged span survives `kill -9` of the server at any moment."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from spanscope.client import Client
from tests.helpers import make_span


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spanscope.cli.main", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = Client(f"http://127.0.0.1:{port}", project="dur")
    deadline = time.time() + 60
    while not client.health():
        assert proc.poll() is None, "server died"
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    return proc


def test_kill_9_during_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    data = tmp_path / "store"
    port = _free_port()
    proc = _start(data, port)
    acked: list[str] = []
    stop = threading.Event()

    def sender(worker: int) -> None:
        n = 0
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                while not stop.is_set():
                    spans = []
                    for i in range(200):
                        trace_id = f"{worker:08x}{n:016x}{i:08x}"
                        spans.append(make_span(trace_id, f"{i + 1:016x}", "load", inputs={"n": n, "pad": "x" * 200}))
                    headers = {"Content-Type": "application/json", "X-Spanscope-Project": "dur"}
                    conn.request("POST", "/api/v1/ingest", body=json.dumps({"spans": spans}), headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        acked.extend(s["trace_id"] for s in spans)
                    n += 1
            except OSError:
                return  # the server died under us: whatever was not acknowledged may be lost
            finally:
                conn.close()

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 4000 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-load, no warning
    proc.wait(30)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 4000

    proc = _start(data, port)
    try:
        client = Client(f"http://127.0.0.1:{port}", project="dur")
        rows, _ = client.search_trace_rows("trace.name = 'load'", max_results=None)
        stored = {r["trace_id"] for r in rows}
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged traces lost of {len(acked)}"
    finally:
        proc.terminate()
        proc.wait(30)
