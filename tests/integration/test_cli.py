"""The `spanscope` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SPANSCOPE = [sys.executable, "-m", "spanscope.cli.main"]


def run(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPANSCOPE_ENDPOINT": "http://127.0.0.1:9", **(env_extra or {})}
    return subprocess.run([*SPANSCOPE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_demo_then_search_and_trace(tmp_path: Path) -> None:
    data = str(tmp_path / "store")
    demo = run(
        "demo", "--traces", "40", "--project", "demo", "--data-dir", data, "--port", "0",
        env_extra={"SPANSCOPE_ENDPOINT": ""},
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "tag.quality_score < 0.7" in demo.stdout and "delivered: yes" in demo.stdout

    out = run(
        "search",
        "tag.quality_score < 0.7",
        "--project",
        "demo",
        "--data-dir",
        data,
        "--fields",
        "span.attributes.usage.total_tokens",
        "--format",
        "json",
        "--limit",
        "100",
    )
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert rows and all(r["tag.quality_score"] < 0.7 for r in rows)
    assert all(isinstance(r["span.attributes.usage.total_tokens"], int) for r in rows)

    csv = run("search", "--project", "demo", "--data-dir", data, "--format", "csv", "--limit", "5")
    assert csv.returncode == 0 and csv.stdout.splitlines()[0].startswith("trace_id,name,status,start_time")

    table = run("trace", rows[0]["trace_id"], "--project", "demo", "--data-dir", data)
    assert table.returncode == 0, table.stderr
    for name in ("chatbot.turn", "llm.generate", "db.query", "llm.generate_final", "llm.response_check"):
        assert name in table.stdout
    assert " ms" in table.stdout

    bad = run("search", "tag.quality_score <", "--project", "demo", "--data-dir", data)
    assert bad.returncode == 2 and "column" in bad.stderr


def test_demo_on_chdb_then_search_it(tmp_path: Path) -> None:
    # `spanscope demo --store chdb://…` serves from chDB; the CLI then reads that store through SPANSCOPE_STORE.
    pytest.importorskip("chdb")
    data, store = str(tmp_path / "state"), f"chdb://{tmp_path / 'ch'}"
    demo = run("demo", "--traces", "30", "--project", "demo", "--data-dir", data, "--port", "0", "--store", store,
               env_extra={"SPANSCOPE_ENDPOINT": ""})  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "delivered: yes" in demo.stdout and f"store: {store}" in demo.stdout
    assert not (tmp_path / "state" / "spanscope.duckdb").exists()  # nothing went to DuckDB
    out = run("search", "--project", "demo", "--data-dir", data, "--format", "json", "--limit", "100",
              env_extra={"SPANSCOPE_STORE": store})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert len([line for line in out.stdout.splitlines() if line.strip()]) == 30
