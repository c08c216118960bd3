"""The quality loop through the public Python API against a real server: feedback with history, datasets
from traces (versions, ground truth, exports), evaluation runs (threads, asyncio, errors, the LLM judge),
scoring production traces, and comparisons in production."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import spanscope
from spanscope import datasets
from spanscope.client import ApiError
from spanscope.evals import (
    Score,
    compare,
    evaluate,
    exact_match,
    get_run,
    json_valid,
    list_runs,
    llm_judge,
    score_traces,
    scorer,
    token_budget,
    version,
    window,
)
from spanscope.feedback import get_feedback, list_feedback, log_feedback, update_feedback
from spanscope.sdk import set_clock
from spanscope.server import ServerThread
from tests.unit.evals.chat_server import chat_server

PROJECT = "qa"
DAY_NS = 86_400 * 10**9


@pytest.fixture
def sdk(server: ServerThread) -> Iterator[ServerThread]:
    spanscope.configure(endpoint=server.url, project=PROJECT)
    yield server
    spanscope.shutdown(timeout=10)
    set_clock(None)


def turn(
    question: str,
    answer: str,
    *,
    tags: dict[str, Any] | None = None,
    user: str | None = None,
    docs: list[str] | None = None,
    thumbs: bool | None = None,
) -> str:
    messages = [{"role": "system", "content": "You are Ava."}, {"role": "user", "content": question}]
    with spanscope.trace("chatbot.turn", tags=tags or {}, user_id=user) as t:
        t.set_inputs({"messages": messages})
        if docs is not None:
            with spanscope.span("retriever.search", kind="retriever") as r:
                r.set_inputs({"query": question})
                r.set_outputs({"documents": docs})
        with spanscope.span("llm.generate", kind="llm") as s:
            s.set_inputs({"messages": messages})
            s.set_outputs({"choices": [{"message": {"role": "assistant", "content": answer}}]})
            s.set_attribute("usage.total_tokens", 40 + len(answer))
        t.set_outputs({"response": answer})
        if thumbs is not None:
            t.add_finding("user_thumbs_up", thumbs, source="human")
    assert t.trace_id is not None
    return t.trace_id


def count(filter_string: str) -> int:
    return len(spanscope.search_traces(filter_string, max_results=1000))


# ---------------------------------------------------------------------------------------------- feedback
def test_feedback_is_typed_searchable_and_superseded_with_history(sdk: ServerThread) -> None:
    tid = turn("where is A1?", "It shipped.")
    other = turn("refund A2", "Refund started.")
    assert spanscope.flush(timeout=10)
    span_id = spanscope.get_trace(tid).spans[-1].span_id

    fid = log_feedback(tid, "helpful", False, rationale="wrong order", metadata={"ticket": 7})
    assert len(fid) == 32
    assert count("feedback.helpful = false") == 1
    for name, value in (("score", 0.8), ("stars", 4), ("label", "refund"), ("note", "line one\nline two")):
        log_feedback(tid, name, value)
    log_feedback(other, "score", 0.2, source="code")
    assert count("finding.score > 0.5") == 1 and count("finding.stars >= 4") == 1
    assert count("finding.label = 'refund'") == 1 and count("finding.score IS NOT NULL") == 2
    types = {f["name"]: f["metadata"]["spanscope.value_type"] for f in list_feedback(tid)}
    assert types == {"helpful": "bool", "score": "float", "stars": "int", "label": "category", "note": "text"}

    new = update_feedback(fid, True, rationale="re-checked")
    assert count("feedback.helpful = false") == 0 and count("feedback.helpful = true") == 1
    df = spanscope.search_traces("feedback.helpful = true")
    assert df["finding.helpful"].tolist() == [True]
    old = get_feedback(fid)
    assert (old["superseded_by"], old["current_id"]) == (new, new)
    assert [(h["finding_id"], h["value"]) for h in old["history"]] == [(fid, False), (new, True)]
    assert get_feedback(new)["supersedes"] == fid and get_feedback(new)["metadata"]["spanscope.supersedes"] == fid
    assert [f["value"] for f in list_feedback(tid, "helpful")] == [True]
    assert [f["value"] for f in list_feedback(tid, "helpful", include_superseded=True)] == [False, True]
    with pytest.raises(ApiError) as err:
        update_feedback(fid, False)
    assert err.value.status == 409 and new in err.value.message
    newest = log_feedback(tid, "helpful", False, supersedes=new)
    assert get_feedback(fid)["current_id"] == newest and count("feedback.helpful = false") == 1

    on_span = log_feedback(tid, "grounded", 1, span_id=span_id, source="llm")
    updated = update_feedback(on_span, 0)
    assert get_feedback(updated)["span_id"] == span_id and get_feedback(updated)["source"] == "llm"
    assert count("finding.grounded = 0") == 1 and count("finding.grounded = 1") == 0

    with pytest.raises(ValueError, match="trace id"):
        log_feedback("nope", "x", 1)
    with pytest.raises(TypeError, match="bool, int, float or str"):
        log_feedback(tid, "x", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        log_feedback(tid, "x", float("inf"))
    with pytest.raises(TypeError, match="value_type"):
        log_feedback(tid, "x", "text", value_type="int")
    with pytest.raises(ApiError) as err:
        log_feedback(tid, "helpful", True, supersedes="0" * 32)
    assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        log_feedback(other, "helpful", True, supersedes=newest)
    assert err.value.status == 400


# ---------------------------------------------------------------------------------------------- datasets
def seed_support_traces() -> dict[str, dict[str, Any]]:
    out = {}
    for i in range(16):
        q, a = f"question {i}", f"answer {i}"
        quality = 0.2 if i < 12 else 0.9
        tid = turn(q, a, tags={"quality_score": quality, "user": f"user-{i % 3}"}, docs=[f"doc {i}", "faq"])
        out[tid] = {"question": q, "answer": a, "quality": quality, "user": f"user-{i % 3}"}
    dup = turn("question 0", "answer 0", tags={"quality_score": 0.1, "user": "user-0"}, docs=["doc 0", "faq"])
    out[dup] = {"question": "question 0", "answer": "answer 0", "quality": 0.1, "user": "user-0"}  # a duplicate
    assert spanscope.flush(timeout=10)
    return out


MAPPING = {
    "input": "span.inputs.messages[-1].content",
    "output": "span.outputs.choices[0].message.content",
    "context": "`retriever.search`.outputs.documents",
}


def test_dataset_from_traces_with_versions_ground_truth_and_exports(sdk: ServerThread, tmp_path: Path) -> None:
    traces = seed_support_traces()
    ds = datasets.create("support", description="low-quality turns")
    assert (ds.version, len(ds), ds.pinned) == (0, 0, False)
    added = ds.add_from_traces("tag.quality_score < 0.5", MAPPING, sample=6, seed=1, stratify_by="tag.user")
    assert (added["matched_traces"], added["added"], added["version"]) == (13, 6, 1)
    assert added["strata"] == {"user-0": 2, "user-1": 2, "user-2": 2}
    v1_hash = ds.content_hash
    df = ds.to_pandas()
    assert list(df.columns) == [
        "record_id",
        "input",
        "output",
        "context",
        "expected",
        "source_trace_id",
        "source_span_id",
    ]
    for row in ds.rows():  # every record links to its trace and to the span its input came from
        src = traces[row["source_trace_id"]]
        assert (row["input"], row["output"], row["context"]) == (
            src["question"],
            src["answer"],
            [row["input"].replace("question", "doc"), "faq"],
        )
        assert src["quality"] < 0.5
        assert row["source_span_id"] == spanscope.get_trace(row["source_trace_id"]).root_span.span_id
    again = ds.add_from_traces("tag.quality_score < 0.5", MAPPING)  # the rest; duplicates are skipped
    assert (again["added"], again["duplicates"], ds.version, len(ds)) == (6, 7, 2, 12)

    # ground truth: in bulk from a CSV (matched on the question), then one by one; who and when are kept
    truth = tmp_path / "truth.csv"
    rows = ds.rows()
    truth.write_text(
        "input,expected\n" + "".join(f"{r['input']},Expected {r['input']}\n" for r in rows[:3]) + "nobody asked,x\n"
    )
    set_ = ds.expected_from_csv(truth, key="input", by="qa-team")
    assert (set_["expected_set"], set_["unmatched"], ds.version) == (3, [{"key": "input", "value": "nobody asked"}], 3)
    ds.set_expected(rows[3]["record_id"], {"label": "refund"}, by="dana")
    prov = ds.to_pandas(provenance=True)
    assert prov["expected_by"].tolist()[:4] == ["qa-team", "qa-team", "qa-team", "dana"]
    assert prov["expected_at"].notna().tolist()[:5] == [True, True, True, True, False]
    assert prov["expected"].tolist()[3] == {"label": "refund"}

    # versions are immutable and hashed
    v1 = datasets.get("support", version=1)
    assert (v1.version, v1.content_hash, len(v1), v1.pinned) == (1, v1_hash, 6, True)
    assert v1.verify() and ds.verify() and ds.content_hash != v1_hash
    assert all(r["expected"] is None for r in v1.records())
    with pytest.raises(ValueError, match="pinned to version 1"):
        v1.add_records([{"input": "x"}])
    assert [v["version"] for v in ds.versions()] == [0, 1, 2, 3, 4]
    diff = ds.diff(2)
    assert (len(diff["added"]), len(diff["removed"]), len(diff["changed"]), diff["unchanged"]) == (0, 0, 4, 8)
    assert all(c["expected"] and c["fields"] == [] for c in diff["changed"])
    assert datasets.diff("support", 1, 2)["added"][0]["record_id"] in {r["record_id"] for r in ds.records()}
    assert ds.at(1).content_hash == v1_hash

    # exports round-trip: re-imported, every format gives the very same content hash
    ds.to_csv(tmp_path / "d.csv")
    ds.to_jsonl(tmp_path / "d.jsonl")
    ds.to_parquet(tmp_path / "d.parquet")
    copies = [
        datasets.from_csv("copy-csv", tmp_path / "d.csv"),
        datasets.from_jsonl("copy-jsonl", tmp_path / "d.jsonl"),
        datasets.from_parquet("copy-parquet", tmp_path / "d.parquet"),
        datasets.from_dataframe("copy-df", ds.to_pandas()),
    ]
    for copy in copies:
        assert copy.content_hash == ds.content_hash, copy.name
        assert copy.to_pandas().equals(ds.to_pandas())
    assert {d.name for d in datasets.list()} == {"support", "copy-csv", "copy-jsonl", "copy-parquet", "copy-df"}

    # production traces as OpenAI chat fine-tuning data
    n = ds.to_openai_jsonl(tmp_path / "ft.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "ft.jsonl").read_text().splitlines()]
    assert n == len(lines) == 12
    first = lines[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[1]["content"] == rows[0]["input"] and first[2]["content"] == f"Expected {rows[0]['input']}"
    traced = ds.openai_examples(use_expected=False)["examples"][0]["messages"]
    assert traced[-1]["content"] == rows[0]["output"]
    assert datasets.delete("copy-df") and "copy-df" not in {d.name for d in datasets.list()}


# ---------------------------------------------------------------------------------------------- evaluation
def answer(input: str) -> str:
    with spanscope.span("llm.generate", kind="llm") as s:
        s.set_attribute("usage.total_tokens", 10 * len(input.split()))
        if "explode" in input:
            raise RuntimeError("model unavailable")
        return input.upper() if "shout" in input else f"re: {input}"


@scorer
def span_count(trace: Any) -> int:
    return len(trace.spans)


RECORDS = [
    {"input": "hello there", "expected": "re: hello there"},
    {"input": "shout this", "expected": "re: shout this"},
    {"input": "FAIL500 judge", "expected": "re: FAIL500 judge"},
    {"input": "please explode", "expected": "nothing"},
    {"input": "a b c d e f g h", "expected": "re: a b c d e f g h"},
    {"input": "no truth"},
]


def test_evaluate_traces_scores_and_stores_a_run(sdk: ServerThread) -> None:
    ds = datasets.from_records("eval-set", RECORDS)
    with chat_server() as chat:
        judge = llm_judge("Is it a reply to the input?", "judge-model", chat.base_url, "sk", max_retries=0)
        run = evaluate(
            ds,
            answer,
            [exact_match, judge, token_budget(50), span_count],
            name="baseline",
            max_workers=3,
            progress=False,
        )
    assert (run.name, run.status, run.dataset, run.dataset_version) == ("baseline", "finished", "eval-set", 1)
    df = run.to_pandas()
    by_input = {r["inputs"]["input"]: r for r in run.results}
    assert by_input["please explode"]["error"] == "RuntimeError: model unavailable"
    assert by_input["please explode"]["scores"] == {}
    assert by_input["hello there"]["scores"] == {
        "exact_match": True,
        "llm_judge": 5,
        "token_budget_50": True,
        "span_count": 2,
    }
    assert by_input["hello there"]["rationales"]["llm_judge"] == "graded 5"
    assert (
        by_input["shout this"]["scores"]["exact_match"] is False and by_input["shout this"]["scores"]["llm_judge"] == 2
    )
    failing = by_input["FAIL500 judge"]  # a failing judge call is an error on that record; the rest is scored
    assert "llm_judge" not in failing["scores"] and "HTTP 500" in failing["errors"]["llm_judge"]
    assert failing["scores"]["exact_match"] is True
    assert by_input["a b c d e f g h"]["scores"]["token_budget_50"] is False
    assert by_input["no truth"]["scores"]["exact_match"] is None  # no expected: not applicable
    assert "expected" not in by_input["no truth"]["inputs"]
    agg = run.aggregates["scorers"]
    assert agg["exact_match"] == {"count": 4, "errors": 0, "not_applicable": 1, "mean": 0.75}
    assert agg["llm_judge"]["errors"] == 1 and run.aggregates["app_errors"] == 1 and run.aggregates["records"] == 6
    assert {"llm_judge.rationale", "llm_judge.error", "exact_match", "input", "outputs"} <= set(df.columns)

    # every call is a trace linked to the run and the record, with the app's spans inside
    run_traces = spanscope.search_traces(f"tag.`spanscope.run_id` = '{run.run_id}'")
    assert len(run_traces) == 6 and set(run_traces["name"]) == {"eval.answer"}
    hello = spanscope.get_trace(by_input["hello there"]["trace_id"])
    assert hello.tags["spanscope.record_id"] == by_input["hello there"]["record_id"]
    assert (hello.tags["spanscope.dataset"], hello.tags["spanscope.dataset_version"]) == ("eval-set", 1)
    assert [s.name for s in hello.spans] == ["eval.answer", "llm.generate"] and hello.inputs == {"input": "hello there"}
    assert spanscope.get_trace(by_input["please explode"]["trace_id"]).status == "ERROR"
    # scores are findings on those traces (the judge's with source llm)
    assert count(f"finding.exact_match = true AND tag.`spanscope.run_id` = '{run.run_id}'") == 3
    assert len(df) == 6 and df["error"].notna().sum() == 1
    judged = {f.name: f for f in hello.findings}
    assert judged["llm_judge"].source == "llm" and judged["llm_judge"].rationale == "graded 5"
    assert judged["exact_match"].metadata["spanscope.run_id"] == run.run_id

    # the run is stored server-side
    stored = get_run(run.run_id)
    assert stored.results == run.results and stored.aggregates == run.aggregates
    assert get_run("baseline").run_id == run.run_id
    assert [r.run_id for r in list_runs("eval-set")] == [run.run_id]


def test_async_apps_run_concurrently_and_inputs_can_be_renamed(sdk: ServerThread) -> None:
    ds = datasets.from_records("async-set", [{"input": f"q{i}", "expected": f"a: q{i}"} for i in range(12)])
    active, peak = 0, 0
    lock = threading.Lock()

    async def ask(question: str) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        await asyncio.sleep(0.02)
        async with spanscope.span("llm.generate", kind="llm"):
            await asyncio.sleep(0)
        with lock:
            active -= 1
        return f"a: {question}"

    run = evaluate(ds, ask, [exact_match], inputs={"question": "input"}, max_workers=4, progress=True)
    assert 1 < peak <= 4
    assert run.metrics == {"exact_match": 1.0}
    assert all(r["inputs"] == {"question": r["expected"][3:]} for r in run.results)
    t = spanscope.get_trace(run.results[0]["trace_id"])
    assert [s.name for s in t.spans] == ["eval.ask", "llm.generate"]

    def one_param(text: str) -> str:  # a one-parameter app gets the `input` field
        return f"a: {text}"

    assert evaluate(ds, one_param, [exact_match], progress=False).metrics == {"exact_match": 1.0}
    with pytest.raises(ValueError, match="inputs="):
        evaluate(ds, lambda a, b: a, [exact_match], progress=False)
    with pytest.raises(ValueError, match="unique"):
        evaluate(ds, one_param, [exact_match, exact_match], progress=False)


def test_evaluate_uses_the_latest_ground_truth_and_keeps_it_without_scorers(sdk: ServerThread) -> None:
    ds = datasets.from_records("truth-set", [{"input": "a", "expected": "re: b"}, {"input": "c", "expected": "re: c"}])
    elsewhere = datasets.get("truth-set")  # e.g. an annotator's session
    elsewhere.set_expected_many({"a": "re: a"}, key="input")
    run = evaluate(ds, answer, [exact_match], progress=False)  # ds is stale, but not pinned: the latest counts
    assert run.dataset_version == 2 and run.metrics == {"exact_match": 1.0}
    pinned = evaluate(datasets.get("truth-set", version=1), answer, [exact_match], progress=False)
    assert pinned.dataset_version == 1 and pinned.metrics == {"exact_match": 0.5}
    bare = evaluate(ds, answer, [], progress=False)
    assert [r["expected"] for r in bare.results] == ["re: a", "re: c"]
    assert bare.to_pandas()["expected"].tolist() == ["re: a", "re: c"] and bare.aggregates["scorers"] == {}


def test_evaluate_without_a_configured_sdk_configures_it_for_the_run(server: ServerThread) -> None:
    client = spanscope.Client(server.url, project=PROJECT)
    run = evaluate(
        [{"input": "x", "expected": "re: x"}], answer, [exact_match, span_count], client=client, progress=False
    )
    assert run.metrics == {"exact_match": 1.0, "span_count": 2.0} and run.dataset is None
    assert client.get_trace(run.results[0]["trace_id"]).name == "eval.answer"
    from spanscope.sdk.runtime import RUNTIME

    assert RUNTIME.processor is None  # put back as it was


# ---------------------------------------------------------------------------------------------- production
def test_score_traces_writes_findings_and_rescoring_supersedes(sdk: ServerThread) -> None:
    good = turn("give json", '{"ok": true}', tags={"env": "prod"})
    turn("give json", "not json", tags={"env": "prod"})
    turn("skip", "{}", tags={"env": "dev"})
    assert spanscope.flush(timeout=10)
    polite_calls = []

    @scorer(name="polite")
    def polite(outputs: Any, trace: Any) -> Score:
        polite_calls.append(trace.trace_id)
        return Score(len(polite_calls) > 10, "first pass" if len(polite_calls) <= 10 else "second pass")

    df = score_traces("tag.env = 'prod'", [json_valid(field="response"), polite])
    assert sorted(df.columns) == sorted(
        ["trace_id", "json_valid", "polite", "json_valid.rationale", "polite.rationale"]
    )
    assert count("finding.json_valid = true") == 1 and count("finding.json_valid = false") == 1
    assert spanscope.search_traces("finding.json_valid = true")["trace_id"].tolist() == [good]
    assert count("finding.polite = false") == 2
    polite_calls.extend(["x"] * 10)
    score_traces("tag.env = 'prod'", [polite])  # again: the new findings supersede the old ones
    assert count("finding.polite = false") == 0 and count("finding.polite = true") == 2
    history = list_feedback(good, "polite", include_superseded=True)
    assert [(f["value"], f["source"]) for f in history] == [(False, "code"), (True, "code")]
    assert history[1]["supersedes"] == history[0]["finding_id"]
    mapped = score_traces(
        "tag.env = 'prod'",
        [exact_match(name="same")],
        mapping={"outputs": "span.outputs.response", "expected": "span.outputs.choices[0].message.content"},
    )
    assert mapped["same"].tolist() == [True, True]


def test_compare_findings_between_versions_and_windows(sdk: ServerThread) -> None:
    now = time.time_ns()
    clock = [now - 3 * DAY_NS]

    def tick() -> int:
        clock[0] += 1_000_000
        return clock[0]

    set_clock(tick)
    for i in range(40):
        turn(f"q{i}", "a", tags={"app.version": "1.4.0", "quality_score": 0.8}, thumbs=i % 10 != 0)
    clock[0] = now - DAY_NS
    for i in range(40):
        turn(f"q{i}", "a", tags={"app.version": "1.5.0", "quality_score": 0.78}, thumbs=i % 10 < 4)
    set_clock(None)
    assert spanscope.flush(timeout=10)
    by_version = compare("user_thumbs_up", version("1.4.0"), version("1.5.0"))
    m = by_version.metrics[0]
    assert (m.metric, m.n_a, m.n_b, m.verdict) == ("user_thumbs_up", 40, 40, "worse")
    assert m.mean_a == pytest.approx(0.9) and m.mean_b == pytest.approx(0.4)
    ms = now // 1_000_000
    earlier = window(
        dt.datetime.fromtimestamp((now - 4 * DAY_NS) / 1e9, dt.UTC),
        dt.datetime.fromtimestamp((now - 2 * DAY_NS) / 1e9, dt.UTC),
    )
    by_window = compare("feedback.user_thumbs_up", earlier, (ms - 2 * DAY_NS // 10**6, ms + 1))
    assert by_window.metrics[0].verdict == "worse" and by_window.kind == "production"
    tags = compare("tag.quality_score", {"app.version": "1.4.0"}, {"app.version": "1.5.0"})
    assert tags.metrics[0].diff == pytest.approx(-0.02) and tags.metrics[0].verdict == "worse"
    narrowed = compare("user_thumbs_up", version("1.4.0"), version("1.5.0"), filter="trace.name = 'nothing'")
    assert narrowed.metrics[0].verdict == "insufficient data"


# ---------------------------------------------------------------------------------------------- HTTP
def test_http_errors_say_what_is_wrong(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url, headers={"X-Spanscope-Project": PROJECT}) as http:
        assert http.post("/api/v1/datasets", json={"name": "ok"}).status_code == 201
        assert http.post("/api/v1/datasets", json={"name": "ok"}).status_code == 409
        assert http.post("/api/v1/datasets", json={"name": "bad name!"}).status_code == 400
        assert http.get("/api/v1/datasets/missing").status_code == 404
        assert http.get("/api/v1/datasets/ok?version=5").status_code == 404
        bad_path = http.post("/api/v1/datasets/ok/records/from-traces", json={"mapping": {"input": "span.inputs["}})
        assert (
            bad_path.status_code == 400
            and bad_path.json()["column"] > 1
            and "mapping 'input'" in bad_path.json()["error"]
        )
        bad_filter = http.post(
            "/api/v1/datasets/ok/records/from-traces", json={"filter": "tag.x <", "mapping": {"a": "tag.x"}}
        )
        assert bad_filter.status_code == 400 and "column" in bad_filter.json()
        assert http.post("/api/v1/datasets/ok/records", json={"records": [1]}).status_code == 400
        assert http.post("/api/v1/datasets/ok/records", content=b"{").status_code == 400
        assert http.get("/api/v1/datasets/ok/diff?from=0").status_code == 400
        assert http.get("/api/v1/runs/nope").status_code == 404
        assert http.post("/api/v1/runs/compare", json={"run_a": "x", "run_b": "y"}).status_code == 404
        assert http.get("/api/v1/findings/nope").status_code == 404
        assert (
            http.post(
                "/api/v1/findings", json={"trace_id": "a" * 32, "name": "x", "value": "t", "value_type": "bool"}
            ).status_code
            == 400
        )
        assert http.post("/api/v1/findings", json={"trace_id": "A", "name": "x", "value": 1}).status_code == 400
        cmp = http.post("/api/v1/findings/compare", json={"field": "tag.", "a": None, "b": None})
        assert cmp.status_code == 400
        doc = http.get("/openapi.json").json()
        assert {"/api/v1/findings", "/api/v1/datasets/{name}/records/from-traces", "/api/v1/runs/compare"} <= set(
            doc["paths"]
        )
