"""How fast the web UI shows a big agent trace, in headless Chromium (Debian's, driven by Playwright).

    .venv/bin/python bench/ui.py                 # 10,000 spans, 3 cold runs (new browser + profile each)
    .venv/bin/python bench/ui.py --spans 1000 100 --reps 5 --json out.json

The trace has the shape of the Phoenix/MLflow measurement in shared/anchors/ui (gen_traces.py): a root CHAIN
``agent_run``, AGENT steps with LLM/TOOL children, half the tool calls nesting AGENT → TOOL → CHAIN → LLM
``rerank_d6`` (depth 6), ~300 B inputs/outputs per span, the last span ``final_answer_step``. It is sent
through the native ingest API to a real ``spanscope serve`` (its own process) on a loopback port.

Per run, timed from just before ``page.goto`` (wall clock, DOM polled every animation frame):
- ``t_root`` / ``t_deep``: the root row and the first ``rerank_d6`` row visible in the span tree;
- ``t_click_head``: click that ``rerank_d6`` row until the panel names it (from the outline, no request);
- ``t_click_body``: the same click until its inputs are rendered (one small request);
- ``click_inpage_ms``: another row clicked from inside the page, until the frame after the panel names it;
- ``t_scroll_end``: scroll the tree to the bottom until ``final_answer_step`` is visible;
- scroll smoothness: the tree scrolled through every row (600 px per frame) while frame intervals and
  long tasks are recorded: ``frame_p95_ms``, ``frame_max_ms``, ``longtasks_scroll``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WORDS = [
    *("agent", "tool", "call", "search", "result", "weather", "paris", "budget", "plan"),
    *("step", "retrieve", "context", "answer", "user", "query", "model", "token"),
]
LONGTASKS = (
    "window.__lt=[]; try{new PerformanceObserver(l=>{for(const e of l.getEntries()) window.__lt.push(e.duration)})"
    ".observe({type:'longtask',buffered:true})}catch(e){}"
)
FIND_ROW = "(name) => [...document.querySelectorAll('.trace-rows .trow .name')].some(e => e.textContent === name)"
# In the page: from row.click() to the next frame after the panel names the span (no driver round trips).
CLICK_INPAGE = """(name) => new Promise(done => {
  const row = [...document.querySelectorAll('.trace-rows .trow:not([hidden])')]
    .filter(r => r.querySelector('.name').textContent === name)[1];
  const t0 = performance.now();
  row.click();
  const wait = () => document.querySelector('.span-pane .span-name')?.textContent === name
    ? requestAnimationFrame(() => done(performance.now() - t0)) : requestAnimationFrame(wait);
  wait();
})"""
SCROLL_THROUGH = """async () => {
  const c = document.querySelector('.trace-rows');
  const frames = []; window.__lt = [];
  let last = performance.now();
  c.scrollTop = 0;
  await new Promise(r => requestAnimationFrame(r));
  last = performance.now();
  while (c.scrollTop + c.clientHeight < c.scrollHeight - 1) {
    c.scrollTop += 600;
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now(); frames.push(now - last); last = now;
  }
  frames.sort((a, b) => a - b);
  const lt = window.__lt;
  const at = (q) => frames[Math.floor(frames.length * q)];
  return {frames: frames.length, p50: at(0.5), p95: at(0.95),
          max: frames[frames.length - 1], longtasks: lt.length, longtask_max: Math.max(0, ...lt),
          rows_in_dom: c.querySelectorAll('.trow:not([hidden])').length};
}"""


def agent_trace(n: int, seed: int = 42, trace_id: str | None = None) -> list[dict[str, object]]:
    """Spans of one agent trace with ``n`` spans (native ingest format)."""
    rng = random.Random(seed)
    trace_id = trace_id or f"{rng.getrandbits(128):032x}"
    spans: list[dict[str, object]] = []
    clock = [time.time_ns() - 3600 * 10**9]
    budget = [n]

    def text(size: int = 300) -> str:
        out: list[str] = []
        while sum(len(w) + 1 for w in out) < size:
            out.append(rng.choice(WORDS))
        return " ".join(out)[:size]

    def span(name: str, kind: str, parent: str | None, body=None) -> None:  # type: ignore[no-untyped-def]
        if budget[0] <= 0:
            return
        budget[0] -= 1
        span_id = f"{rng.getrandbits(64):016x}"
        start = clock[0]
        clock[0] += 1_000_000
        rec: dict[str, object] = {"trace_id": trace_id, "span_id": span_id, "parent_span_id": parent, "name": name}
        spans.append(rec)
        if body:
            body(span_id)
        clock[0] += rng.randint(1, 50) * 1_000_000
        attrs: dict[str, object] = {}
        inputs: object = text()
        outputs: object = text()
        if kind == "llm":
            p, c = rng.randint(200, 4000), rng.randint(20, 800)
            model = rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"])
            attrs = {"gen_ai.request.model": model, "usage.input_tokens": p, "usage.output_tokens": c}
            attrs["usage.total_tokens"] = p + c
            inputs = {"messages": [{"role": "user", "content": text()}]}
            outputs = {"choices": [{"message": {"role": "assistant", "content": text()}, "finish_reason": "stop"}]}
        elif kind == "tool":
            attrs = {"tool.name": name}
        rec.update(
            kind=kind,
            start_time_ns=start,
            end_time_ns=clock[0],
            status="OK",
            attributes=attrs,
            inputs=inputs,
            outputs=outputs,
        )

    def deep_tool(sid: str) -> None:
        span("rerank_chain", "chain", sid, lambda c5: span("rerank_d6", "llm", c5))

    def sub_agent(sid: str) -> None:
        span("llm_call", "llm", sid)
        span("retrieve", "tool", sid, deep_tool)
        span("llm_call", "llm", sid)

    def step(sid: str) -> None:
        span("llm_call", "llm", sid)
        nested = (lambda c: span("sub_agent", "agent", c, sub_agent)) if rng.random() < 0.5 else None
        span("tool_search", "tool", sid, nested)
        span("llm_call", "llm", sid)
        span("tool_calculator", "tool", sid)
        span("llm_call", "llm", sid)

    def root(sid: str) -> None:
        i = 0
        budget[0] -= 1  # keep one span for the final step
        while budget[0] > 0:
            span(f"agent_step_{i}", "agent", sid, step)
            i += 1
        budget[0] += 1
        span("final_answer_step", "agent", sid)

    span("agent_run", "chain", None, root)
    return spans


def send_spans(url: str, project: str, spans: list[dict[str, object]], chunk: int = 2000) -> None:
    with httpx.Client(base_url=url, timeout=120, headers={"X-Spanscope-Project": project}) as c:
        for k in range(0, len(spans), chunk):
            r = c.post("/api/v1/ingest", json={"spans": spans[k : k + chunk]})
            r.raise_for_status()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).parent / "spanscope"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("spanscope serve did not start")


def one_run(url: str, trace_id: str, shot: Path | None) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="spanscope-ui-bench-")
    res: dict[str, object] = {}
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 1600, "height": 1000}
            )
            ctx.add_init_script(LONGTASKS)
            page = ctx.new_page()
            page.set_default_timeout(60_000)
            t0 = time.perf_counter()
            page.goto(f"{url}/traces/{trace_id}?project=bench", wait_until="commit")
            page.wait_for_function(FIND_ROW, arg="agent_run", polling="raf")
            res["t_root"] = time.perf_counter() - t0
            page.wait_for_function(FIND_ROW, arg="rerank_d6", polling="raf")
            res["t_deep"] = time.perf_counter() - t0
            lt = page.evaluate("window.__lt")
            res["longtasks_load"] = len(lt)
            res["longtask_max_ms"] = round(max(lt or [0]))
            res["dom_elements"] = page.evaluate("document.getElementsByTagName('*').length")
            res["rows_in_dom"] = page.evaluate("document.querySelectorAll('.trace-rows .trow:not([hidden])').length")
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1e6 : -1")
            res["js_heap_mb"] = round(heap, 1)
            if shot:
                page.screenshot(path=str(shot))
            row = page.locator(".trace-rows .trow", has_text="rerank_d6").first
            t1 = time.perf_counter()
            row.click()
            page.wait_for_function(
                "() => document.querySelector('.span-pane .span-name')?.textContent === 'rerank_d6'", polling="raf"
            )
            res["t_click_head"] = time.perf_counter() - t1
            page.wait_for_function(
                "() => !!document.querySelector('.span-pane [data-testid=inputs] .conversation')", polling="raf"
            )
            res["t_click_body"] = time.perf_counter() - t1
            res["click_inpage_ms"] = round(page.evaluate(CLICK_INPAGE, "llm_call"), 1)
            t2 = time.perf_counter()
            page.evaluate("() => { const c = document.querySelector('.trace-rows'); c.scrollTop = c.scrollHeight; }")
            page.wait_for_function(FIND_ROW, arg="final_answer_step", polling="raf")
            res["t_scroll_end"] = time.perf_counter() - t2
            sc = page.evaluate(SCROLL_THROUGH)
            res.update(
                scroll_frames=sc["frames"],
                frame_p50_ms=round(sc["p50"], 1),
                frame_p95_ms=round(sc["p95"], 1),
                frame_max_ms=round(sc["max"], 1),
                longtasks_scroll=sc["longtasks"],
                rows_in_dom_scrolling=sc["rows_in_dom"],
            )
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spans", type=int, nargs="+", default=[10_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="write every run and the medians here")
    ap.add_argument("--screenshot", help="save the first run's tree of the largest trace here (PNG)")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    data = Path(tempfile.mkdtemp(prefix="spanscope-ui-bench-data-"))
    proc, url = start_server(data)
    out: dict[str, object] = {"runs": [], "median": {}}
    try:
        for n in args.spans:
            spans = agent_trace(n, seed=n)  # a different trace (id) per size
            t = time.perf_counter()
            send_spans(url, "bench", spans)
            stored = time.perf_counter() - t
            trace_id = str(spans[0]["trace_id"])
            runs = []
            for rep in range(args.reps):
                shot = Path(args.screenshot) if args.screenshot and rep == 0 and n == max(args.spans) else None
                r = one_run(url, trace_id, shot)
                r.update(n=n, rep=rep, stored_s=round(stored, 2))
                print(json.dumps(r), flush=True)
                runs.append(r)
            keys = [k for k, v in runs[0].items() if isinstance(v, int | float) and k not in ("n", "rep")]
            med = {k: round(statistics.median(float(r[k]) for r in runs), 3) for k in keys}  # type: ignore[arg-type]
            out["median"][str(n)] = med  # type: ignore[index]
            out["runs"].extend(runs)  # type: ignore[union-attr]
            print(f"{n} spans, median of {args.reps}: {json.dumps(med)}", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
