"""Browser tests: Playwright driving Debian's Chromium (``apt-get install chromium``) against a real server.

Skipped, with the reason, only when ``/usr/bin/chromium`` (or the ``playwright`` package) is missing. Never
run ``playwright install``: the system browser is used through ``executable_path``.

Screenshots of every page go to ``$SPANSCOPE_UI_SHOTS`` (default: a ``ui-shots`` folder in pytest's temporary
directory, printed at the end); ``tests/ui/screenshots.py`` makes the ones in ``docs/screenshots``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spanscope.server import ServerThread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PROJECT = "demo"
BIG_PROJECT = "big"

try:  # the 2-core machine is shared: give assertions on the page time to settle (no timing is asserted)
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
except ImportError:
    pass


def _missing() -> str | None:
    """Why the browser tests can't run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium); the browser tests need Debian's Chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.skip(reason=reason))


def agent_trace(n: int, seed: int = 42) -> list[dict[str, Any]]:
    """One agent trace of ``n`` spans shaped like the Phoenix/MLflow measurement (see bench/ui.py)."""
    rng = random.Random(seed)
    trace_id = f"{rng.getrandbits(128):032x}"
    spans: list[dict[str, Any]] = []
    clock = [time.time_ns() - 3600 * 10**9]
    budget = [n]

    def span(name: str, kind: str, parent: str | None, body: Any = None) -> None:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        sid = f"{rng.getrandbits(64):016x}"
        rec: dict[str, Any] = {
            "trace_id": trace_id,
            "span_id": sid,
            "parent_span_id": parent,
            "name": name,
            "kind": kind,
            "start_time_ns": clock[0],
            "status": "OK",
        }
        clock[0] += 1_000_000
        spans.append(rec)
        if body:
            body(sid)
        clock[0] += rng.randint(1, 50) * 1_000_000
        rec["end_time_ns"] = clock[0]
        if kind == "llm":
            rec["attributes"] = {"usage.total_tokens": rng.randint(200, 4000), "gen_ai.request.model": "gpt-4o"}
            rec["inputs"] = {"messages": [{"role": "user", "content": f"step input {len(spans)}"}]}
            rec["outputs"] = {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}

    def deep(sid: str) -> None:  # sub_agent (d3) -> retrieve (d4) -> rerank_chain (d5) -> rerank_d6 (d6)
        span(
            "retrieve",
            "tool",
            sid,
            lambda d4: span("rerank_chain", "chain", d4, lambda d5: span("rerank_d6", "llm", d5)),
        )

    def nested(sid: str) -> None:
        span("sub_agent", "agent", sid, deep)

    def step(sid: str) -> None:
        span("llm_call", "llm", sid)
        span("tool_search", "tool", sid, nested if rng.random() < 0.5 else None)
        span("llm_call", "llm", sid)
        span("tool_calculator", "tool", sid)

    def root(sid: str) -> None:
        i = 0
        budget[0] -= 1
        while budget[0] > 0:
            span(f"agent_step_{i}", "agent", sid, step)
            i += 1
        budget[0] += 1
        span("final_answer_step", "agent", sid)

    span("agent_run", "chain", None, root)
    return spans


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A real server holding the simulated chatbot (project ``demo``) and one 10,000-span agent trace."""
    import spanscope
    from spanscope.cli.demo_app import simulate

    with ServerThread(tmp_path_factory.mktemp("ui-data")) as srv:
        spanscope.configure(endpoint=srv.url, project=DEMO_PROJECT)
        try:
            simulate(60, seed=7, start_ns=time.time_ns() - (7 * 86400 + 3600) * 10**9)
            assert spanscope.flush(timeout=30)
        finally:
            spanscope.shutdown()
        big = agent_trace(10_000)
        with httpx.Client(base_url=srv.url, timeout=60, headers={"X-Spanscope-Project": BIG_PROJECT}) as c:
            for k in range(0, len(big), 2500):
                c.post("/api/v1/ingest", json={"spans": big[k : k + 2500]}).raise_for_status()
        srv.big_trace_id = big[0]["trace_id"]  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("SPANSCOPE_UI_SHOTS") or tmp_path_factory.mktemp("ui-shots"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {out}")
    return out


@pytest.fixture(scope="module")  # playwright keeps an event loop on this thread: end it with the module
def browser() -> Iterator[Any]:
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1500, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
