"""The web UI in a real browser against a real server with the demo data (see conftest.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from spanscope.server import ServerThread
from tests.ui.conftest import BIG_PROJECT, DEMO_PROJECT

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
TOOL_ERRORS = "span.kind = 'tool' AND span.status = 'ERROR'"


def api_search(srv: ServerThread, flt: str | None, project: str = DEMO_PROJECT) -> list[str]:
    r = httpx.post(f"{srv.url}/api/v1/traces/search", json={"filter": flt, "max_results": 1000, "project": project})
    r.raise_for_status()
    return [t["trace_id"] for t in r.json()["traces"]]


def search(page: Any, text: str) -> None:
    box = page.get_by_test_id("filter-input")
    box.fill(text)
    box.press("Escape")
    box.press("Enter")


def loaded(page: Any) -> None:
    """Wait until the traces table has its answer (it carries ``loading`` while a request is out)."""
    expect(page.locator("table.traces")).not_to_have_class(re.compile("loading"))


def row_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("table.traces tbody tr[data-trace-id]", "rs => rs.map(r => r.dataset.traceId)")


def test_filter_open_trace_tree_chat_feedback_then_search(ui_server: ServerThread, page: Any, shots: Path) -> None:
    expected = api_search(ui_server, TOOL_ERRORS)
    assert expected, "the demo data has failing tool calls"
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    expect(page.locator("table.traces tbody tr[data-trace-id]").first).to_be_visible()
    page.screenshot(path=str(shots / "traces.png"))

    # 1. Filter: the same language and the same answer as the search API; the URL captures it.
    search(page, TOOL_ERRORS)
    expect(page.locator(".summary")).to_contain_text(f"{len(expected)} trace")
    loaded(page)
    assert sorted(row_ids(page)) == sorted(expected)
    assert parse_qs(urlparse(page.url).query)["filter"] == [TOOL_ERRORS]

    # 2. Open the first trace: the tree is complete and opens fully expanded.
    trace_id = row_ids(page)[0]
    page.locator(f"tr[data-trace-id='{trace_id}'] td.col-name a").click()
    expect(page).to_have_url(re.compile(f"/traces/{trace_id}"))
    tree = page.get_by_test_id("span-tree")
    expect(tree.locator(".trow").first).to_contain_text("chatbot.turn")
    names = tree.locator(".trow:not([hidden]) .name").all_text_contents()
    assert names[0] == "chatbot.turn"
    assert {"llm.generate", "db.query", "llm.generate_final", "llm.response_check"} <= set(names)
    failing = tree.locator(".trow.err .name").all_text_contents()
    assert failing and all(n.startswith("llm.tools.") for n in failing)
    assert tree.locator(".trow.cp").count() >= 2  # critical path marked
    # collapse the root, then expand it again
    tree.locator(".trow").first.locator(".caret").click()
    expect(tree.locator(".trow:not([hidden])")).to_have_count(1)
    tree.locator(".trow").first.locator(".caret").click()
    expect(tree.locator(".trow:not([hidden])")).to_have_count(len(names))

    # 3. The final LLM call renders as a conversation: roles, the tool call and its result.
    tree.locator(".trow", has_text="llm.generate_final").click()
    panel = page.get_by_test_id("span-panel")
    expect(panel.locator(".span-name")).to_have_text("llm.generate_final")
    convo = panel.get_by_test_id("inputs").get_by_test_id("conversation")
    expect(convo).to_be_visible()
    roles = convo.locator(".role").all_text_contents()
    assert roles[0] == "system" and {"user", "assistant", "tool"} <= set(roles)
    expect(convo.locator(".toolcall")).to_contain_text("calls")
    expect(panel.get_by_test_id("outputs").locator(".msg.role-assistant")).to_be_visible()
    page.screenshot(path=str(shots / "trace.png"))
    # the failing tool span shows its exception with the stack trace
    tree.locator(".trow.err").first.click()
    expect(panel.get_by_test_id("events").locator("pre.stack")).to_contain_text("Traceback")

    # 4. Feedback on the trace: thumbs down + a comment -> a human finding.
    page.get_by_role("button", name="+ Feedback on trace").click()
    page.get_by_test_id("thumb-down").click()
    page.get_by_label("Comment").fill("the tool failed and the answer dodged it")
    page.get_by_test_id("save-feedback").click()
    expect(page.locator(".head-findings")).to_contain_text("thumbs_up")
    trace = httpx.get(f"{ui_server.url}/api/v1/traces/{trace_id}", params={"project": DEMO_PROJECT}).json()
    mine = [f for f in trace["findings"] if f["name"] == "thumbs_up"]
    assert len(mine) == 1 and mine[0]["value"] is False and mine[0]["source"] == "human"
    assert mine[0]["rationale"] == "the tool failed and the answer dodged it"

    # 5. ... and it shows in search.
    page.get_by_role("link", name="← Traces").click()
    search(page, "finding.thumbs_up = false")
    expect(page.locator("table.traces tbody tr[data-trace-id]")).to_have_count(1)
    assert row_ids(page) == [trace_id]
    expect(page.locator("td.col-findings")).to_contain_text("thumbs_up")


def test_feedback_on_a_span_with_score_and_category(ui_server: ServerThread, page: Any) -> None:
    trace_id = api_search(ui_server, "span.name = 'db.query'")[0]
    page.goto(f"{ui_server.url}/traces/{trace_id}?project={DEMO_PROJECT}")
    tree = page.get_by_test_id("span-tree")
    tree.locator(".trow", has_text="db.query").click()
    page.get_by_role("button", name="+ Feedback on this span").click()
    page.get_by_label("Score", exact=True).fill("0.25")
    page.get_by_label("Category", exact=True).fill("slow_query")
    page.get_by_test_id("save-feedback").click()
    expect(page.get_by_test_id("span-findings")).to_contain_text("slow_query")
    expect(tree.locator(".trow", has_text="db.query").locator(".fmark")).not_to_be_empty()
    assert api_search(ui_server, "finding.score = 0.25 AND finding.category = 'slow_query'") == [trace_id]


def test_syntax_error_shown_inline_at_its_column(ui_server: ServerThread, page: Any) -> None:
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    text = "tag.quality_score < 0.7 AND span.duration_ms >"
    search(page, text)
    err = page.locator(".filter-error")
    expect(err).to_be_visible()
    r = httpx.get(f"{ui_server.url}/api/v1/filter/check", params={"filter": text}).json()
    assert r["column"] == len(text) + 1
    expect(err).to_contain_text(f"Column {r['column']}")
    expect(err).to_contain_text("expected a value after '>'")
    caret = err.locator(".caret-line").inner_text()
    assert caret.splitlines()[1].index("^") == len(text)  # the caret sits under the column
    expect(page.locator(".filter-backdrop mark.err")).to_have_count(1)
    # an unknown field is caught while typing, before any search
    box = page.get_by_test_id("filter-input")
    box.fill("trace.nope = 1")
    expect(err).to_contain_text("Column 1")
    expect(err).to_contain_text("unknown field")
    box.fill("trace.status = 'OK'")
    expect(err).to_be_hidden()


def test_completion_of_fields_keys_and_values(ui_server: ServerThread, page: Any) -> None:
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    box = page.get_by_test_id("filter-input")
    box.click()
    box.press_sequentially("span.na")
    items = page.locator(".completion li .label")
    expect(items.first).to_have_text("span.name")
    box.press("Tab")
    assert box.input_value() == "span.name "
    expect(items.first).to_have_text("=")  # operators come next
    box.press_sequentially("= 'db.")
    expect(page.locator(".completion li", has_text="db.query")).to_be_visible()
    box.fill("")
    box.press_sequentially("tag.qual")
    expect(items.first).to_have_text("tag.quality_score")
    box.fill("")
    box.press_sequentially("finding.resp")
    expect(items.first).to_have_text("finding.response_safe_score")


def test_completion_typed_before_the_fields_arrive(ui_server: ServerThread, page: Any) -> None:
    # The fields list arrives after the user has typed (a slow server): the open list is made again with it.
    import time

    def slow(route: Any) -> None:
        time.sleep(1.5)
        route.continue_()

    page.route("**/api/v1/fields*", slow)
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    box = page.get_by_test_id("filter-input")
    box.click()
    box.press_sequentially("span.na")
    expect(page.locator(".completion li .label").first).to_have_text("span.name")
    expect(page.locator(".completion")).to_be_visible()


def test_sort_paginate_range_and_shareable_url(ui_server: ServerThread, page: Any) -> None:
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    expect(page.locator("table.traces tbody tr[data-trace-id]")).to_have_count(50)
    page.locator("th.col-duration").click()
    expect(page).to_have_url(re.compile("sort=duration"))
    loaded(page)
    durations = page.locator("td.col-duration").all_text_contents()
    secs = [float(d.split()[0]) * (1 if d.endswith(" s") else 0.001) for d in durations[:5]]
    assert secs == sorted(secs, reverse=True)
    page.locator("th.col-tokens").click()
    expect(page).to_have_url(re.compile("sort=tokens"))
    loaded(page)
    page.get_by_role("button", name="Next ›").click()
    expect(page).to_have_url(re.compile("page=2"))
    expect(page.locator(".summary")).to_contain_text("51–60")
    # the URL alone restores the view
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}&filter=tag.quality_score+%3C+0.7&range=30d&sort=cost&dir=asc")
    expect(page.get_by_test_id("filter-input")).to_have_value("tag.quality_score < 0.7")
    expect(page.get_by_test_id("range-select")).to_have_value("30d")
    expect(page.locator("th.col-cost")).to_have_class(re.compile("sorted"))
    loaded(page)
    assert sorted(row_ids(page)) == sorted(api_search(ui_server, "tag.quality_score < 0.7"))
    page.get_by_test_id("range-select").select_option("15m")
    expect(page.locator("td.empty")).to_be_visible()  # the demo data is older than 15 minutes


def test_compare_view(ui_server: ServerThread, page: Any, shots: Path) -> None:
    # A failing turn and a good one with the same intent: the same tool, which failed only in A.
    for failing in api_search(ui_server, TOOL_ERRORS):
        outline = httpx.get(f"{ui_server.url}/api/v1/traces/{failing}/outline", params={"project": DEMO_PROJECT})
        intent = outline.json()["trace"]["metadata"]["intent"]
        same = api_search(ui_server, f"metadata.intent = '{intent}' AND NOT span.status = 'ERROR'")
        if same:
            fine = same[0]
            break
    page.goto(f"{ui_server.url}/compare?project={DEMO_PROJECT}&a={failing}&b={fine}")
    rows = page.get_by_test_id("compare-rows").locator(".crow:not([hidden])")
    expect(rows.first).to_contain_text("chatbot.turn")
    assert rows.count() >= 6
    expect(page.locator(".crow .diff-status").first).to_be_visible()  # the tool failed only in A
    assert page.locator(".crow .diff-slower, .crow .diff-faster").count() >= 1
    detail = page.get_by_test_id("compare-detail")
    expect(detail.locator(".difftext").first).to_be_visible()
    page.screenshot(path=str(shots / "compare.png"))
    rows.filter(has_text="llm.generate_final").first.click()
    expect(detail.locator("h3")).to_have_text("llm.generate_final")
    expect(detail.get_by_test_id("diff-a").locator(".del").first).to_be_visible()  # the answers differ
    # the traces page's checkboxes lead here too
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}")
    boxes = page.locator("table.traces tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_test_id("compare-selected").click()
    expect(page).to_have_url(re.compile(r"/compare\?.*a=[0-9a-f]{32}.*b=[0-9a-f]{32}"))
    expect(page.get_by_test_id("compare-rows").locator(".crow").first).to_be_visible()


def test_dashboard_charts(ui_server: ServerThread, page: Any, shots: Path) -> None:
    page.goto(f"{ui_server.url}/dashboard?project={DEMO_PROJECT}&range=all")
    page.wait_for_selector("body[data-dashboard-ready]")
    expect(page.locator(".kpi").first).to_contain_text("60")
    assert page.locator(".chart-card canvas").count() == 5
    drawn = page.eval_on_selector_all(".chart-card canvas", "cs => cs.map(c => !!window.Chart.getChart(c))")
    assert all(drawn)
    metric = page.get_by_test_id("metric-select")
    assert "tag:quality_score" in metric.locator("option").evaluate_all("os => os.map(o => o.value)")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    metric.select_option("finding:response_safe_score")
    expect(page).to_have_url(re.compile("metric=finding%3Aresponse_safe_score"))
    search(page, "tag.model = 'gpt-4o'")
    expect(page).to_have_url(re.compile("filter=tag.model"))


def test_10k_span_trace_first_paint(ui_server: ServerThread, page: Any, shots: Path) -> None:
    trace_id = ui_server.big_trace_id  # type: ignore[attr-defined]
    find = "(n) => [...document.querySelectorAll('.trace-rows .trow .name')].some(e => e.textContent === n)"
    t0 = time.perf_counter()
    page.goto(f"{ui_server.url}/traces/{trace_id}?project={BIG_PROJECT}", wait_until="commit")
    page.wait_for_function(find, arg="agent_run", polling="raf")
    t_root = time.perf_counter() - t0
    page.wait_for_function(find, arg="rerank_d6", polling="raf")
    t_deep = time.perf_counter() - t0
    print(f"\n10,000-span trace: root visible after {t_root:.3f} s, first depth-6 span after {t_deep:.3f} s")
    page.screenshot(path=str(shots / "trace-10k.png"))
    tree = page.get_by_test_id("span-tree")
    assert tree.locator(".trow:not([hidden])").count() < 150  # virtualised: only the rows in view
    expect(page.locator(".axis-tree .span-count")).to_have_text("10,000 spans")
    expect(page.locator(".axis-tree")).to_contain_text("depth 6")
    # a click shows the details without re-rendering the tree
    click_ms = page.evaluate(
        """() => new Promise(done => {
            const row = [...document.querySelectorAll('.trace-rows .trow')]
                .find(r => r.querySelector('.name').textContent === 'rerank_d6');
            const t0 = performance.now();
            row.click();
            const wait = () => document.querySelector('.span-pane .span-name')?.textContent === 'rerank_d6'
                ? requestAnimationFrame(() => done(performance.now() - t0)) : requestAnimationFrame(wait);
            wait();
        })"""
    )
    print(f"click -> details header painted: {click_ms:.1f} ms")
    expect(page.get_by_test_id("span-panel").get_by_test_id("inputs").locator(".conversation")).to_be_visible()
    # the last span is reachable by scrolling ...
    tree.evaluate("c => { c.scrollTop = c.scrollHeight; }")
    expect(tree.locator(".trow .name", has_text="final_answer_step")).to_be_visible()
    # ... and by searching within the trace
    tree.evaluate("c => { c.scrollTop = 0; }")
    box = page.get_by_test_id("span-search")
    box.fill("final_answer")
    box.press("Enter")
    expect(page.get_by_test_id("span-panel").locator(".span-name")).to_have_text("final_answer_step")
    expect(page).to_have_url(re.compile("span=[0-9a-f]{16}"))


def test_dataset_from_filter_expected_export_and_runs(ui_server: ServerThread, page: Any) -> None:
    probe = httpx.get(f"{ui_server.url}/api/v1/datasets", params={"project": DEMO_PROJECT})
    if probe.status_code == 404:
        page.goto(f"{ui_server.url}/datasets?project={DEMO_PROJECT}")
        expect(page.get_by_test_id("datasets-placeholder")).to_contain_text("quality-loop")
        return
    flt = "tag.quality_score < 0.6"
    expected_ids = api_search(ui_server, flt)
    # From the traces page: the current filter becomes a dataset.
    page.goto(f"{ui_server.url}/?project={DEMO_PROJECT}&filter=tag.quality_score+%3C+0.6")
    page.get_by_role("link", name="Save as dataset…").click()
    form = page.locator(".dataset-form")
    expect(form.get_by_test_id("filter-input")).to_have_value(flt)
    expect(form).to_contain_text(f"{len(expected_ids)} traces match")
    form.get_by_label("Dataset name").fill("low-quality")
    form.get_by_test_id("create-dataset").click()
    expect(page).to_have_url(re.compile("/datasets/low-quality"))
    records = page.get_by_test_id("records").locator("tbody tr[data-record-id]")
    expect(records).to_have_count(len(expected_ids))
    sources = page.get_by_test_id("records").locator("tbody td:last-child a").all_text_contents()
    assert {s[:10] for s in sources} == {t[:10] for t in expected_ids}
    expect(page.get_by_test_id("records").locator("th")).to_contain_text(["#", "input", "output", "expected"])
    # Edit an expected value inline: a new version holds it.
    first = records.first
    first.locator("td.expected").click()
    first.locator("textarea").fill('{"answer": "refund started"}')
    first.get_by_role("button", name="Save").click()
    expect(page.locator(".badge", has_text="v2 (latest)")).to_be_visible()
    expect(page.get_by_test_id("records").locator("td.expected").first).to_contain_text("refund started")
    stored = httpx.get(f"{ui_server.url}/api/v1/datasets/low-quality/records", params={"project": DEMO_PROJECT}).json()[
        "records"
    ]
    assert stored[0]["expected"] == {"answer": "refund started"}
    # Export.
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export JSONL").click()
    lines = Path(dl.value.path()).read_text().splitlines()
    assert len(lines) == len(expected_ids) and '"expected"' in lines[0]
    # Evaluation runs on the dataset, compared.
    runs = httpx.get(f"{ui_server.url}/api/v1/runs", params={"project": DEMO_PROJECT})
    if runs.status_code == 404:
        return
    for name, score in (("before", 0.4), ("after", 0.9)):
        run = httpx.post(
            f"{ui_server.url}/api/v1/runs",
            params={"project": DEMO_PROJECT},
            json={"name": name, "dataset": "low-quality", "dataset_version": 2},
        ).json()
        results = [
            {"record_id": r["record_id"], "position": i, "scores": {"helpful": score + 0.01 * (i % 3)}}
            for i, r in enumerate(stored)
        ]
        base = f"{ui_server.url}/api/v1/runs/{run['run_id']}"
        httpx.post(f"{base}/results", params={"project": DEMO_PROJECT}, json={"results": results}).raise_for_status()
        agg = {"records": len(results), "scorers": {"helpful": {"mean": score + 0.01, "count": len(results)}}}
        httpx.post(f"{base}/finish", params={"project": DEMO_PROJECT}, json={"aggregates": agg}).raise_for_status()
    page.reload()
    side = page.locator(".dataset-side")
    expect(side.locator("input[type=checkbox]")).to_have_count(2)
    side.locator("input[type=checkbox]").nth(0).check()
    side.locator("input[type=checkbox]").nth(1).check()
    side.get_by_test_id("compare-runs").click()
    expect(side.locator(".run-compare")).to_contain_text("helpful")
    expect(side.locator(".run-compare")).to_contain_text("better")


def test_asks_for_an_api_key_when_auth_is_on(tmp_path: Path, browser: Any) -> None:
    from spanscope.server.keys import KeyStore

    with ServerThread(tmp_path / "secured", require_auth=True) as srv:
        _, key = KeyStore(srv.data_dir).create("team-a")
        spans = [
            {"trace_id": "a" * 32, "span_id": "b" * 16, "name": "secured.turn", "kind": "chain", "status": "OK",
             "start_time_ns": time.time_ns() - 10**9, "end_time_ns": time.time_ns()},
        ]  # fmt: skip
        r = httpx.post(f"{srv.url}/api/v1/ingest", json={"spans": spans}, headers={"Authorization": f"Bearer {key}"})
        r.raise_for_status()
        ctx = browser.new_context(viewport={"width": 1200, "height": 800})
        page = ctx.new_page()
        try:
            page.goto(srv.url + "/")
            page.wait_for_load_state("networkidle")  # the app's handlers are attached once its modules loaded
            dialog = page.locator("#auth-dialog")
            expect(dialog).to_be_visible()
            dialog.get_by_placeholder("API key").fill(key)
            dialog.get_by_role("button", name="Use key").click()
            expect(page.locator("table.traces tbody tr[data-trace-id]")).to_have_count(1)
            expect(page.locator("#project")).to_have_value("team-a")  # the key's project, and only it
            page.locator("td.col-name a").click()
            expect(page.get_by_test_id("span-tree").locator(".trow .name").first).to_have_text("secured.turn")
        finally:
            ctx.close()
