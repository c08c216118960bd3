"""``spanscope.analysis`` and ``spanscope stats`` / ``spanscope export`` against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from spanscope import analysis
from spanscope.cli.main import main
from spanscope.client import Client
from spanscope.server import ServerThread
from tests.unit.analysis.test_engine import make_dataset


@pytest.fixture(scope="module")
def data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return make_dataset(80, seed=3)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Iterator[ServerThread]:
    with ServerThread(tmp_path_factory.mktemp("analysis") / "data") as server:
        Client(server.url, project="p").ingest({"spans": data[0], "traces": data[1]})
        yield server


@pytest.fixture
def client(srv: ServerThread) -> Client:
    return Client(srv.url, project="p")


def test_latency_frame(client: Client, data: Any) -> None:
    df = analysis.latency(by="span.name", client=client)
    assert list(df.columns[:4]) == ["span.name", "count", "errors", "error_rate"]
    db = df.set_index("span.name").loc["db.query"]
    durations = [(s["end_time_ns"] - s["start_time_ns"]) / 1e6 for s in data[0] if s["name"] == "db.query"]
    assert db["count"] == 80 and db["p95_ms"] == pytest.approx(np.percentile(durations, 95))
    by_day = analysis.latency("span.kind = 'llm'", by=["model", "day"], client=client)
    assert list(by_day.columns[:2]) == ["model", "bucket_start"] and str(by_day["bucket_start"].dt.tz) == "UTC"


def test_usage_compare_path_correlate(client: Client, data: Any) -> None:
    usage = analysis.usage(by="model", client=client)
    assert set(usage["model"]) == {"small", "large"} and usage["calls"].sum() == 160
    cmp = analysis.compare("tag.slow = true", "tag.slow = false", client=client)
    assert set(cmp.cohorts["cohort"]) == {"a", "b"} and "p95_ms_a" in cmp.span_names.columns
    assert {"field", "effect", "metric"} <= set(cmp.differences.columns)
    tid = data[1][5]["trace_id"]
    path = analysis.critical_path(tid, client=client)
    assert path["duration_ms"].sum() > 0 and set(path["name"]) >= {"llm.plan", "llm.answer"}
    summary = analysis.critical_path(filter="tag.model = 'large'", client=client)
    assert summary.attrs["traces"] == 40 and summary["share"].sum() == pytest.approx(1.0)
    corr = analysis.correlate("tag.quality_score", "trace.duration_ms", client=client)
    assert corr["n"] == 80 and -1 <= corr["pearson"] <= 1


def test_analysis_errors_are_400_with_a_column(srv: ServerThread) -> None:
    with httpx.Client(base_url=srv.url, headers={"X-Spanscope-Project": "p"}) as http:
        r = http.post("/api/v1/analysis/latency", json={"filter": "span.name = "})
        assert r.status_code == 400 and r.json()["column"] == 13
        r = http.post("/api/v1/analysis/critical_path", json={"trace_id": "f" * 32})
        assert r.status_code == 404
        r = http.post("/api/v1/analysis/usage", json={"by": ["model"], "bogus": 1})
        assert r.status_code == 400
        doc = http.get("/openapi.json").json()
        for path in ("/api/v1/spans/search", "/api/v1/export", "/api/v1/analysis/compare"):
            assert path in doc["paths"]


def test_cli_stats_and_export(srv: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--endpoint", srv.url, "--project", "p"]
    assert main(["stats", "latency", *common]) == 0
    assert "db.query" in capsys.readouterr().out
    assert main(["stats", "compare", "tag.slow = true", "tag.slow = false", *common]) == 0
    assert "Per span name" in capsys.readouterr().out
    assert main(["stats", "critical-path", "--filter", "tag.model = 'large'", *common]) == 0
    assert "llm.answer" in capsys.readouterr().out
    assert main(["stats", "usage", "--by", "model", "--by", "day", *common]) == 0
    assert main(["stats", "correlate", "tag.quality_score", "trace.duration_ms", *common]) == 0
    assert "pearson" in capsys.readouterr().out
    assert main(["stats", "latency", "span.bogus = 1", *common]) == 2
    out = tmp_path / "spans.parquet"
    assert main(["export", "tag.slow = true", "--spans", "-o", str(out), *common]) == 0
    assert pq.read_table(out).num_rows % 5 == 0 and "wrote" in capsys.readouterr().err
    assert main(["spans", "span.name = 'db.query'", "--limit", "3", *common]) == 0
