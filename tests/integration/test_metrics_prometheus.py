"""A real Prometheus scrapes a real spanscope server on loopback (skipped where Prometheus isn't installed:
``apt-get install prometheus`` provides ``prometheus`` and ``promtool``)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spanscope.server import ServerThread
from tests.helpers import sid, tid

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body(n: int) -> dict[str, Any]:
    now = time.time_ns() - 60 * 10**9
    spans = []
    for i in range(n):
        start = now + i * 10**6
        spans.append(
            {
                "trace_id": tid(i + 1), "span_id": sid(i + 1), "name": "llm.generate", "kind": "llm",
                "start_time_ns": start, "end_time_ns": start + (100 + 10 * i) * 10**6,
                "attributes": {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10 * (i + 1),
                               "gen_ai.usage.output_tokens": 5},
            }
        )  # fmt: skip
    return {"spans": spans}


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[ServerThread, str]]:
    with ServerThread(tmp_path / "data") as srv:
        with httpx.Client(base_url=srv.url, headers={"X-Spanscope-Project": "prom"}) as c:
            assert c.post("/api/v1/ingest", json=body(20)).status_code == 200
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - {{job_name: spanscope, static_configs: [{{targets: ['127.0.0.1:{srv.port}']}}]}}\n"
        )
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield srv, f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(30)


def query(base: str, path: str, **params: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=10) as r:
        return json.load(r)["data"]


def wait_for(fn: Any, deadline_s: float = 60.0) -> Any:
    """Poll until ``fn`` returns something truthy (Prometheus scrapes every second)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            result = fn()
        except OSError:
            result = None
        if result or time.monotonic() > end:
            return result
        time.sleep(0.25)


def test_prometheus_scrapes_parses_and_keeps_exemplars(scraped: tuple[ServerThread, str]) -> None:
    srv, prom = scraped
    spans = wait_for(lambda: query(prom, "/api/v1/query", query='sum(spanscope_spans_total{project="prom"})')["result"])
    assert spans and float(spans[0]["value"][1]) == 20
    (target,) = query(prom, "/api/v1/targets")["activeTargets"]
    assert (target["health"], target["lastError"]) == ("up", "")
    tokens = query(prom, "/api/v1/query", query="sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)")["result"]
    assert {r["metric"]["gen_ai_token_type"]: float(r["value"][1]) for r in tokens} == {"input": 2100, "output": 100}
    p50 = query(
        prom,
        "/api/v1/query",
        query='histogram_quantile(0.5, sum by (le) (spanscope_span_duration_seconds_bucket{project="prom"}))',
    )["result"]
    assert 0.1 <= float(p50[0]["value"][1]) <= 0.5

    def exemplars() -> list[dict[str, Any]]:
        now = time.time()
        found = query(
            prom, "/api/v1/query_exemplars", query="spanscope_span_duration_seconds_bucket",
            start=str(now - 3600), end=str(now + 60),
        )  # fmt: skip
        return [e for series in found for e in series["exemplars"]]

    stored = wait_for(exemplars)
    assert stored and {e["labels"]["trace_id"] for e in stored} <= {tid(i + 1) for i in range(20)}


def test_promtool_lints_the_exposition(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    with ServerThread(tmp_path / "d") as srv, httpx.Client(base_url=srv.url) as c:
        assert c.post("/api/v1/ingest", json=body(5)).status_code == 200
        text = c.get("/metrics").content
    out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stderr or out.stdout
