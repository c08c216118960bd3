"""Make the README's screenshots of the web UI from the demo data, in headless Chromium.

    .venv/bin/python tests/ui/screenshots.py            # writes docs/screenshots/*.png

Starts a real server on a temporary store, sends the simulated chatbot (seed 7) through the SDK and one
10,000-span agent trace through the native ingest API, then photographs each page.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

import spanscope  # noqa: E402
from spanscope.cli.demo_app import simulate  # noqa: E402
from spanscope.server import ServerThread  # noqa: E402
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, agent_trace  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 860}


def _first(srv: ServerThread, flt: str) -> str:
    r = httpx.get(f"{srv.url}/api/v1/ui/traces", params={"filter": flt, "project": "demo", "limit": 1})
    r.raise_for_status()
    return r.json()["traces"][0]["trace_id"]


def _dataset_with_runs(srv: ServerThread) -> str | None:
    """A dataset of the low-quality turns, one expected value, and two evaluation runs on it."""
    api = httpx.Client(base_url=srv.url, timeout=60, headers={"X-Spanscope-Project": "demo"})
    if api.get("/api/v1/datasets").status_code == 404:
        return None
    name = "low-quality-turns"
    api.post("/api/v1/datasets", json={"name": name, "description": "turns scored under 0.6"}).raise_for_status()
    api.post(
        f"/api/v1/datasets/{name}/records/from-traces",
        json={"filter": "tag.quality_score < 0.6", "mapping": {"input": "span.inputs", "output": "span.outputs"}},
    ).raise_for_status()
    records = api.get(f"/api/v1/datasets/{name}/records").json()["records"]
    expected = {"response": "A refund was started; you will get a confirmation email."}
    api.post(
        f"/api/v1/datasets/{name}/expected", json={"items": [{"match": records[0]["record_id"], "expected": expected}]}
    )
    if api.get("/api/v1/runs").status_code == 404:
        return name
    for run_name, base in (("prompt-v1", 0.55), ("prompt-v2", 0.7)):
        run = api.post("/api/v1/runs", json={"name": run_name, "dataset": name, "dataset_version": 2}).json()
        results = []
        for i, r in enumerate(records):
            helpful = round(base + 0.05 * ((i * 7) % 5 - 2), 3)
            scores = {"helpful": helpful, "exact_match": (i + len(run_name)) % 3 == 0}
            results.append(
                {"record_id": r["record_id"], "position": i, "latency_ms": 800 + 37 * (i % 9), "scores": scores}
            )
        api.post(f"/api/v1/runs/{run['run_id']}/results", json={"results": results}).raise_for_status()
        from spanscope.evals.run import aggregate

        agg = aggregate(results, ["helpful", "exact_match"])
        api.post(f"/api/v1/runs/{run['run_id']}/finish", json={"aggregates": agg}).raise_for_status()
    return name


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ServerThread(Path(tmp) / "data") as srv:
        spanscope.configure(endpoint=srv.url, project="demo")
        simulate(300, seed=7, start_ns=time.time_ns() - (7 * 86400 + 3600) * 10**9)
        assert spanscope.flush(timeout=60)
        spanscope.shutdown()
        big = agent_trace(10_000)
        with httpx.Client(base_url=srv.url, timeout=60, headers={"X-Spanscope-Project": "agents"}) as c:
            for k in range(0, len(big), 2500):
                c.post("/api/v1/ingest", json={"spans": big[k : k + 2500]}).raise_for_status()
        failing = _first(srv, "span.kind = 'tool' AND span.status = 'ERROR' AND tag.quality_score < 0.6")
        intent = httpx.get(f"{srv.url}/api/v1/traces/{failing}/outline", params={"project": "demo"}).json()
        intent = intent["trace"]["metadata"]["intent"]
        fine = _first(srv, f"NOT span.status = 'ERROR' AND tag.quality_score > 0.8 AND metadata.intent = '{intent}'")
        dataset = _dataset_with_runs(srv)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(20_000)

            page.goto(f"{srv.url}/?project=demo&filter=tag.quality_score+%3C+0.7&sort=tokens")
            page.wait_for_selector("table.traces tbody tr[data-trace-id]")
            page.screenshot(path=str(OUT / "traces.png"))

            page.goto(f"{srv.url}/?project=demo&filter=tag.quality_score+%3C+0.7+AND+span.duration_ms+%3E")
            page.wait_for_selector(".filter-error")
            page.screenshot(path=str(OUT / "filter-error.png"), clip={"x": 0, "y": 0, "width": 1440, "height": 260})

            page.goto(f"{srv.url}/traces/{failing}?project=demo")
            page.locator(".trace-rows .trow", has_text="llm.generate_final").click()
            page.wait_for_selector(".span-pane [data-testid=inputs] .conversation")
            page.screenshot(path=str(OUT / "trace.png"))

            page.goto(f"{srv.url}/traces/{big[0]['trace_id']}?project=agents")
            page.wait_for_selector(".trace-rows .trow")
            page.locator(".trace-rows .trow", has_text="rerank_d6").first.click()
            page.wait_for_selector(".span-pane [data-testid=inputs] .conversation")
            page.screenshot(path=str(OUT / "trace-10k.png"))

            page.goto(f"{srv.url}/compare?project=demo&a={failing}&b={fine}")
            page.wait_for_selector("[data-testid=compare-detail] .difftext")
            page.locator(".crow", has_text="llm.generate_final").first.click()
            page.wait_for_selector("[data-testid=compare-detail] h3:text('llm.generate_final')")
            page.screenshot(path=str(OUT / "compare.png"))

            page.set_viewport_size({"width": 1440, "height": 1180})
            page.goto(f"{srv.url}/dashboard?project=demo&range=all")
            page.wait_for_selector("body[data-dashboard-ready]")
            page.screenshot(path=str(OUT / "dashboard.png"))

            if dataset:
                page.set_viewport_size(VIEWPORT)
                page.goto(f"{srv.url}/datasets/{dataset}?project=demo")
                page.wait_for_selector("[data-testid=records]")
                side = page.locator(".dataset-side")
                side.locator("input[type=checkbox]").nth(0).check()
                side.locator("input[type=checkbox]").nth(1).check()
                side.get_by_test_id("compare-runs").click()
                page.wait_for_selector(".run-compare table")
                page.screenshot(path=str(OUT / "datasets.png"))
            browser.close()
    for f in sorted(OUT.glob("*.png")):
        print(f"{f.relative_to(ROOT)}  {f.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
