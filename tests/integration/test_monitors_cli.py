"""``spanscope demo --degrade`` and ``spanscope monitors …`` as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from spanscope.monitors import MonitorsConfig
from spanscope.server import ServerThread
from tests.helpers import make_span, sid, tid

SPANSCOPE = [sys.executable, "-m", "spanscope.cli.main"]
QUALITY_RULE = "avg(tag.quality_score) over 1d drops > 10% vs previous 7d"
T0 = 1_700_000_000_000_000_000


def run(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    # No server answers at the default endpoint: commands read the data dir.
    env = {**os.environ, "SPANSCOPE_ENDPOINT": "http://127.0.0.1:9", "COLUMNS": "200", **(env_extra or {})}
    return subprocess.run([*SPANSCOPE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_degraded_demo_fires_a_quality_monitor_and_shows_a_regression(tmp_path: Path) -> None:
    data = str(tmp_path / "store")
    demo = run(
        "demo",
        "--traces",
        "140",
        "--degrade",
        "--project",
        "demo",
        "--data-dir",
        data,
        "--port",
        "0",
        env_extra={"SPANSCOPE_ENDPOINT": ""},
    )
    assert demo.returncode == 0, demo.stderr
    assert "degraded on purpose" in demo.stdout

    test = run("monitors", "test", QUALITY_RULE, "--project", "demo", "--data-dir", data)
    assert test.returncode == 0, test.stderr
    assert "FIRING" in test.stdout and "/traces/" in test.stdout

    (tmp_path / "monitors.toml").write_text(
        '[defaults]\nproject = "demo"\n\n[[monitors]]\nname = "quality"\n'
        f'rule = "{QUALITY_RULE}"\nmin_samples = 10\n\n'
        '[[monitors]]\nname = "fine"\nrule = "error_rate where trace.name = \'chatbot.turn\' > 90% over 1d"\n'
    )
    as_json = run("monitors", "test", "--file", str(tmp_path / "monitors.toml"), "--data-dir", data, "--json")
    assert as_json.returncode == 0, as_json.stderr
    verdicts = {r["monitor"]: r["firing"] for r in json.loads(as_json.stdout)}
    assert verdicts == {"quality": True, "fine": False}

    reg = run("monitors", "regressions", "tag.quality_score", "--project", "demo", "--data-dir", data, "--json")
    assert reg.returncode == 0, reg.stderr
    (found,) = json.loads(reg.stdout)
    assert (found["baseline"], found["candidate"], found["regression"]) == ("1.4.0", "1.5.0-rc1", True)
    table = run("monitors", "regressions", "--project", "demo", "--data-dir", data)
    assert "regression" in table.stdout and "large" in table.stdout

    bad = run("monitors", "test", "avg(tag.quality_score) where tag.x = > 1 over 1h", "--data-dir", data)
    assert bad.returncode == 2 and "column" in bad.stderr


def test_list_test_history_through_the_server_then_offline(tmp_path: Path) -> None:
    data = tmp_path / "d"
    clock_ns = T0 + 60 * 10**9
    with ServerThread(data, monitors=MonitorsConfig(interval=0, clock=lambda: clock_ns)) as srv:
        with httpx.Client(base_url=srv.url) as c:
            spans = [
                make_span(tid(1), sid(1), "turn"),
                make_span(tid(1), sid(2), "tool", parent=sid(1), status="ERROR"),
            ]
            assert c.post("/api/v1/ingest", json={"spans": spans}).status_code == 200
            spec = {"name": "errors", "rule": "error_rate > 50% over 1h"}
            assert c.post("/api/v1/monitors", json=spec).status_code == 201
            assert c.post("/api/v1/monitors/errors/evaluate").json()["state"] == "firing"
        listed = run("monitors", "list", "--endpoint", srv.url)
        assert listed.returncode == 0, listed.stderr
        assert "errors" in listed.stdout and "firing" in listed.stdout
        history = run("monitors", "history", "errors", "--endpoint", srv.url, "--json")
        assert [e["state"] for e in json.loads(history.stdout)] == ["firing"]
        at = str((T0 + 60 * 10**9) // 10**6)
        tested = run("monitors", "test", "errors", "--endpoint", srv.url, "--at", at, "--json")
        assert tested.returncode == 0, tested.stderr
        assert json.loads(tested.stdout)[0]["value"] == 1.0
    # With the server stopped the same history is read from <data-dir>/monitors.sqlite.
    offline = run("monitors", "history", "--data-dir", str(data))
    assert offline.returncode == 0, offline.stderr
    assert "errors" in offline.stdout and "firing" in offline.stdout
    listed = run("monitors", "list", "--data-dir", str(data), "--json")
    assert json.loads(listed.stdout)[0]["status"]["state"] == "firing"


def test_serve_refuses_a_bad_monitors_file(tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: x\n    rule: p95(span.duration_ms) > over 1h\n")
    out = run("serve", "--monitors", str(path), "--data-dir", str(tmp_path / "d"), "--port", "0", timeout=60)
    assert out.returncode == 2
    assert "monitors.yaml: monitors[0] (x): rule: expected a condition" in out.stderr
