"""Monitors on a real server: a controllable clock, a webhook receiver on loopback, demo data degraded on purpose."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import spanscope
from spanscope.cli.demo import simulate_day
from spanscope.cli.demo_app import simulate
from spanscope.monitors import MonitorsConfig
from spanscope.monitors.regressions import find_change_point, regressions
from spanscope.server import ServerThread
from spanscope.server.keys import KeyStore
from tests.helpers import make_span, sid, tid

DAY = 86400 * 10**9
T0 = 1_700_000_000_000_000_000
QUALITY_RULE = "avg(tag.quality_score) where trace.name = 'chatbot.turn' over 1d drops > 10% vs previous 7d"


class Clock:
    """The monitors' notion of now, in nanoseconds; tests move it."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


class Webhook:
    """A local webhook receiver (http.server on 127.0.0.1) recording every JSON body it gets."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


def send_demo(url: str, *, normal_turns: int, degraded_turns: int, recovered_turns: int = 0) -> None:
    """A normal week from T0, a degraded day (release 1.5.0-rc1) after it, then optionally a normal day."""
    spanscope.configure(endpoint=url, project="demo")
    try:
        simulate(normal_turns, seed=21, start_ns=T0)
        if degraded_turns:
            simulate_day(degraded_turns, seed=22, start_ns=T0 + 7 * DAY, degraded=True)
        if recovered_turns:
            simulate_day(recovered_turns, seed=23, start_ns=T0 + 8 * DAY, degraded=False)
        assert spanscope.flush(timeout=30)
    finally:
        spanscope.shutdown()


def monitors_file(tmp_path: Path, webhook_url: str) -> Path:
    path = tmp_path / "monitors.yaml"
    path.write_text(
        f"""\
defaults:
  project: demo
  webhook: {webhook_url}
monitors:
  - name: quality-drop
    rule: "{QUALITY_RULE}"
    min_samples: 20
    dataset: quality-regressions
    severity: critical
    description: Mean quality of chatbot turns fell against the week before.
  - name: slow-generate
    rule: p95(span.duration_ms) where span.name = 'llm.generate' > 60000 over 1h
"""
    )
    return path


def test_quality_monitor_fires_on_degraded_demo_notifies_records_and_resolves(tmp_path: Path, webhook: Webhook) -> None:
    clock = Clock(T0 + 8 * DAY)
    config = MonitorsConfig(
        file=monitors_file(tmp_path, webhook.url), interval=0, clock=clock, public_url="http://spanscope.test"
    )
    with ServerThread(tmp_path / "data", monitors=config) as srv, httpx.Client(base_url=srv.url) as c:
        send_demo(srv.url, normal_turns=140, degraded_turns=40)
        demo = {"X-Spanscope-Project": "demo"}
        listed = c.get("/api/v1/monitors", headers=demo).json()["monitors"]
        assert [(m["name"], m["source"], m["status"]["state"]) for m in listed] == [
            ("quality-drop", "file", "ok"),
            ("slow-generate", "file", "ok"),
        ]

        # The day after the bad release: quality dropped by more than 10 % against the week before.
        results = {r["monitor"]: r for r in c.post("/api/v1/monitors/evaluate", headers=demo).json()["results"]}
        fired = results["quality-drop"]
        assert (fired["state"], fired["previous_state"], fired["changed"]) == ("firing", "ok", True)
        ev = fired["evaluation"]
        assert ev["samples"] == 40 and ev["baseline_samples"] == 140
        assert ev["change"] < -0.1 and ev["value"] < ev["baseline"]
        assert results["slow-generate"]["state"] == "ok"

        # The webhook got the notification: monitor, value, threshold, window and links to example traces.
        assert len(webhook.bodies) == 1
        note = webhook.bodies[0]
        assert (note["monitor"], note["project"], note["state"], note["severity"]) == (
            "quality-drop", "demo", "firing", "critical",
        )  # fmt: skip
        assert note["value"] == pytest.approx(ev["value"]) and note["threshold"] == pytest.approx(0.1)
        assert note["baseline"] == pytest.approx(ev["baseline"])
        assert (note["window"], note["condition"], note["rule"]) == ("1d", "drops > 10% vs previous 7d", QUALITY_RULE)
        assert len(note["examples"]) == 5
        for example in note["examples"]:
            assert example["url"] == f"http://spanscope.test/traces/{example['trace_id']}?project=demo"
            assert example["value"] < note["baseline"]
        assert note["url"].startswith("http://spanscope.test/?project=demo&filter=trace.name")
        assert note["dataset"]["name"] == "quality-regressions"
        assert note["offending_traces"] > 0

        # History: the firing event keeps every offending trace, all from the degraded release.
        (event,) = c.get("/api/v1/monitors/quality-drop/history", headers=demo).json()["events"]
        assert event["state"] == "firing" and event["id"] > 0
        offending = event["offending_trace_ids"]
        assert len(offending) == note["offending_traces"]
        assert {n["notifier"]: n["ok"] for n in event["notifications"]} == {"log": True, "webhook": True}
        for trace_id in offending[:10]:
            trace = c.get(f"/api/v1/traces/{trace_id}", headers=demo).json()
            assert trace["tags"]["app.version"] == "1.5.0-rc1"
            assert trace["tags"]["quality_score"] < ev["baseline"]

        # ... and the dataset holds them: one record per offending trace, in a version made by the monitor.
        assert event["dataset"]["status"] == "added" and event["dataset"]["added"] == len(offending)
        records = c.get("/api/v1/datasets/quality-regressions/records", headers=demo, params={"limit": 1000}).json()
        assert records["version"] == 1 and {r["source_trace_id"] for r in records["records"]} == set(offending)
        assert {r["added_by"] for r in records["records"]} == {"monitor:quality-drop"}
        assert all(r["fields"]["input"]["messages"] and r["fields"]["output"] for r in records["records"])

        # Still firing an hour later: no second notification.
        clock.now_ns += 3600 * 10**9
        again = c.post("/api/v1/monitors/quality-drop/evaluate", headers=demo).json()
        assert (again["state"], again["changed"]) == ("firing", False) and len(webhook.bodies) == 1
        firing_gauge = c.get("/metrics", params={"project": "demo"}).text
        assert 'spanscope_monitor_firing{monitor="quality-drop",project="demo",severity="critical"} 1.0' in firing_gauge

        # The fix ships: a normal day, and the monitor resolves.
        send_demo(srv.url, normal_turns=0, degraded_turns=0, recovered_turns=40)
        clock.now_ns = T0 + 9 * DAY
        resolved = c.post("/api/v1/monitors/quality-drop/evaluate", headers=demo).json()
        assert (resolved["state"], resolved["previous_state"]) == ("resolved", "firing")
        assert [b["state"] for b in webhook.bodies] == ["firing", "resolved"]
        assert "offending_traces" not in webhook.bodies[1]
        events = c.get("/api/v1/monitors/quality-drop/history", headers=demo).json()["events"]
        assert [e["state"] for e in events] == ["resolved", "firing"]
        state = c.get("/api/v1/monitors/quality-drop", headers=demo).json()["status"]
        assert state["state"] == "resolved" and state["since_ns"] == T0 + 9 * DAY
        assert (
            'spanscope_monitor_firing{monitor="quality-drop",project="demo",severity="critical"} 0.0'
            in c.get("/metrics").text
        )

        # Regression detection on the same data: the release is worse, with a large effect and high confidence.
        (reg,) = regressions(srv.store, "demo", "tag.quality_score", by="tag.app.version")
        assert (reg.baseline, reg.candidate, reg.n_candidate) == ("1.4.0", "1.5.0-rc1", 40)
        assert reg.regression and reg.effect == "large" and reg.confidence > 0.999
        latency = regressions(
            srv.store, "demo", "span.duration_ms", by="tag.app.version", filter="span.name = 'db.query'"
        )[0]
        assert latency.higher_is_better is False and latency.mean_candidate > latency.mean_baseline
        (window,) = regressions(srv.store, "demo", "tag.quality_score", by=None, window="1d", previous="7d",
                                at_ns=T0 + 8 * DAY)  # fmt: skip
        assert window.regression and window.n_candidate == 40
        cp = find_change_point(srv.store, "demo", "tag.quality_score", since_ns=T0)
        assert cp is not None and cp.confidence > 0.99
        assert T0 + 6 * DAY <= (cp.time_ns or 0) <= T0 + 8 * DAY


def test_api_declares_tests_and_deletes_monitors(tmp_path: Path, webhook: Webhook) -> None:
    clock = Clock(T0 + 60 * 10**9)
    config = MonitorsConfig(file=monitors_file(tmp_path, webhook.url), interval=0, clock=clock)
    with ServerThread(tmp_path / "data", monitors=config) as srv, httpx.Client(base_url=srv.url) as c:
        spans = [
            make_span(tid(1), sid(1), "turn", dur_ms=100),
            make_span(tid(1), sid(2), "tool", parent=sid(1), kind="tool", status="ERROR"),
            make_span(tid(2), sid(3), "turn", dur_ms=300),
        ]
        assert c.post("/api/v1/ingest", json={"spans": spans}).status_code == 200
        spec = {
            "name": "tool-errors",
            "rule": "count() where span.status = 'ERROR' AND span.kind = 'tool' > 0 over 10m",
        }
        r = c.post("/api/v1/monitors", json=spec)
        assert r.status_code == 201 and r.json()["source"] == "api" and r.json()["project"] == "default"
        assert [m["name"] for m in c.get("/api/v1/monitors").json()["monitors"]] == ["tool-errors"]
        assert c.get("/api/v1/monitors", params={"project": "demo"}).json()["monitors"][0]["source"] == "file"

        bad = c.post("/api/v1/monitors", json={"name": "x", "rule": "count() where span.nme = 1 > 1 over 1h"})
        assert bad.status_code == 400 and bad.json()["column"] == 15 and "span.nme" in bad.json()["error"]
        assert c.post("/api/v1/monitors", json={"name": "x"}).status_code == 400
        conflict = c.post("/api/v1/monitors", json={**spec, "name": "quality-drop", "project": "demo"})
        assert conflict.status_code == 409 and "monitors file" in conflict.json()["error"]
        assert c.delete("/api/v1/monitors/quality-drop", params={"project": "demo"}).status_code == 409

        # A test evaluates now and stores nothing.
        tested = c.post("/api/v1/monitors/test", json={"rule": "avg(trace.duration_ms) > 150 over 1h"}).json()
        assert tested["value"] == pytest.approx(200) and tested["firing"] and tested["samples"] == 2
        assert [e["trace_id"] for e in tested["examples"]] == [tid(2)]
        past = c.post("/api/v1/monitors/test", json={"rule": "count() > 0 over 1h", "at": "2023-01-01T00:00:00Z"})
        assert past.json()["value"] == 0 and not past.json()["firing"]
        err = c.post("/api/v1/monitors/test", json={"rule": "p95(span.duration_ms) > over 1h"})
        assert err.status_code == 400 and "expected a condition" in err.json()["error"]

        result = c.post("/api/v1/monitors/tool-errors/evaluate").json()
        assert result["state"] == "firing" and result["evaluation"]["value"] == 1
        assert result["event"]["examples"][0]["trace_id"] == tid(1)
        assert [w["monitor"] for w in webhook.bodies] == []  # no webhook on this one (its project has no default)
        all_events = c.get("/api/v1/monitors/history").json()["events"]
        assert [(e["monitor"], e["state"]) for e in all_events] == [("tool-errors", "firing")]

        assert c.get("/api/v1/monitors/nope").status_code == 404
        assert c.post("/api/v1/monitors/nope/evaluate").status_code == 404
        assert c.delete("/api/v1/monitors/tool-errors").json() == {"deleted": "tool-errors"}
        assert c.delete("/api/v1/monitors/tool-errors").status_code == 404
        assert "/api/v1/monitors/{name}/history" in c.get("/openapi.json").json()["paths"]


def test_webhook_retries_then_records_failures(tmp_path: Path) -> None:
    clock = Clock(T0 + 60 * 10**9)
    with (
        Webhook(statuses=[503]) as flaky,
        ServerThread(tmp_path / "d", monitors=MonitorsConfig(interval=0, clock=clock)) as srv,
        httpx.Client(base_url=srv.url) as c,
    ):
        assert c.post("/api/v1/ingest", json={"spans": [make_span(tid(1), sid(1), "op")]}).status_code == 200
        for name, url in (("flaky", flaky.url), ("dead", "http://127.0.0.1:9/hook")):
            body = {"name": name, "rule": "count() > 0 over 1h", "webhook": url}
            assert c.post("/api/v1/monitors", json=body).status_code == 201
        results = {r["monitor"]: r for r in c.post("/api/v1/monitors/evaluate").json()["results"]}
        hooks = {name: r["event"]["notifications"][1] for name, r in results.items()}
        assert hooks["flaky"]["ok"] and hooks["flaky"]["attempts"] == 2 and len(flaky.bodies) == 1
        assert not hooks["dead"]["ok"] and hooks["dead"]["attempts"] == 3 and hooks["dead"]["error"]
        # The firing is recorded whatever happened to the notification.
        assert c.get("/api/v1/monitors/dead/history").json()["events"][0]["state"] == "firing"


def test_scheduler_runs_due_monitors_by_their_own_period(tmp_path: Path) -> None:
    clock = Clock(T0 + 60 * 10**9)
    with ServerThread(tmp_path / "d", monitors=MonitorsConfig(interval=0, clock=clock)) as srv:
        service = srv.app.state.spanscope_monitors
        with httpx.Client(base_url=srv.url) as c:
            for name, every in (("hourly", "1h"), ("daily", "1d")):
                spec = {"name": name, "rule": "count() > 0 over 1h", "every": every}
                assert c.post("/api/v1/monitors", json=spec).status_code == 201
        assert sorted(r["monitor"] for r in service.run_due()) == ["daily", "hourly"]
        assert service.run_due() == []  # nothing due at the same instant
        clock.now_ns += 3600 * 10**9
        assert [r["monitor"] for r in service.run_due()] == ["hourly"]
        clock.now_ns += 23 * 3600 * 10**9
        assert sorted(r["monitor"] for r in service.run_due()) == ["daily", "hourly"]


def test_background_scheduler_starts_and_stops_with_the_server(tmp_path: Path) -> None:
    done = threading.Event()
    with ServerThread(tmp_path / "d", monitors=MonitorsConfig(interval=0.5)) as srv:
        service = srv.app.state.spanscope_monitors
        original = service.run_due

        def run_due() -> list[dict[str, Any]]:
            out = original()
            if out:
                done.set()
            return out

        service.run_due = run_due
        with httpx.Client(base_url=srv.url) as c:
            assert c.post("/api/v1/monitors", json={"name": "m", "rule": "count() > 0 over 1h"}).status_code == 201
        assert done.wait(30), "the scheduler never evaluated the monitor"
        assert service._thread is not None and service._thread.is_alive()
    assert service._thread is None


def test_monitors_are_per_project_with_api_keys(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "d", require_auth=True, monitors=MonitorsConfig(interval=0)) as srv:
        keys = KeyStore(srv.data_dir)
        a = {"Authorization": f"Bearer {keys.create('a')[1]}"}
        b = {"Authorization": f"Bearer {keys.create('b')[1]}"}
        with httpx.Client(base_url=srv.url) as c:
            assert c.get("/api/v1/monitors").status_code == 401
            spec = {"name": "m", "rule": "count() > 0 over 1h", "project": "b"}  # the key's project wins
            assert c.post("/api/v1/monitors", json=spec, headers=a).json()["project"] == "a"
            assert c.get("/api/v1/monitors", headers=b).json()["monitors"] == []
            assert c.get("/api/v1/monitors/m", headers=b).status_code == 404
            assert c.get("/api/v1/monitors/m", headers=a).status_code == 200


def test_monitors_file_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: Webhook) -> None:
    monkeypatch.setenv("SPANSCOPE_MONITORS_FILE", str(monitors_file(tmp_path, webhook.url)))
    with ServerThread(tmp_path / "d", monitors=MonitorsConfig(interval=0)) as srv, httpx.Client(base_url=srv.url) as c:
        names = [m["name"] for m in c.get("/api/v1/monitors", params={"project": "demo"}).json()["monitors"]]
        assert names == ["quality-drop", "slow-generate"]
