"""Analysis on a real DuckDB store, checked against the same numbers computed independently in Python."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest

from spanscope.analysis import engine
from spanscope.analysis.critical import PathSpan, critical_path, time_by_name
from spanscope.ingest.native import decode_ingest
from spanscope.query import FilterError
from spanscope.store.duckdb import DuckDBStore

T0 = 1_767_225_600 * 10**9
MODELS = ("small", "large")


def make_dataset(n: int = 300, seed: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Chatbot-like traces: root -> llm, tool -> db, llm; quality tag; tokens and cost on llm spans."""
    rng = random.Random(seed)
    spans, infos = [], []
    for i in range(n):
        tid = f"{i + 1:032x}"
        start = T0 + i * 10**9
        model = MODELS[i % 2]
        slow = rng.random() < 0.1
        fails = rng.random() < 0.1
        quality = round(rng.random(), 3)
        durations = {
            "llm.plan": rng.uniform(100, 500),
            "tool.lookup": 0.0,
            "db.query": rng.uniform(5, 20) + (400 if slow else 0),
            "llm.answer": rng.uniform(200, 900) * (2 if model == "large" else 1),
        }
        durations["tool.lookup"] = durations["db.query"] + 5
        t = start + 10**6
        tool_start = 0
        ids = {name: f"{i:08x}{k:08x}" for k, name in enumerate(("root", *durations))}
        for name, dur in durations.items():
            kind = {"llm": "llm", "tool": "tool", "db": "db"}[name.split(".")[0]]
            parent = ids["tool.lookup"] if name == "db.query" else ids["root"]
            s_start = tool_start + 10**6 if name == "db.query" else t
            if name == "tool.lookup":
                tool_start = t
            attrs: dict[str, Any] = {}
            if kind == "llm":
                tokens_in, tokens_out = rng.randint(100, 900), rng.randint(10, 300)
                attrs = {
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": tokens_in,
                    "gen_ai.usage.output_tokens": tokens_out,
                    "spanscope.cost_usd": round((tokens_in + 3 * tokens_out) * 1e-6, 8),
                }
                if rng.random() < 0.5:
                    attrs["usage.total_tokens"] = tokens_in + tokens_out
            status = "ERROR" if (name == "tool.lookup" and fails) else "OK"
            spans.append(
                {
                    "trace_id": tid,
                    "span_id": ids[name],
                    "parent_span_id": parent,
                    "name": name,
                    "kind": kind,
                    "start_time_ns": s_start,
                    "end_time_ns": s_start + int(dur * 1e6),
                    "status": status,
                    "attributes": attrs,
                }
            )
            if name != "db.query":
                t = s_start + int(dur * 1e6) + 10**5
        spans.append(
            {
                "trace_id": tid,
                "span_id": ids["root"],
                "name": "turn",
                "kind": "chain",
                "start_time_ns": start,
                "end_time_ns": t + 10**6,
                "status": "OK",
                "attributes": {"usage.total_tokens": 99999},  # a roll-up copy: usage must not count it
            }
        )
        infos.append({"trace_id": tid, "tags": {"quality_score": quality, "model": model, "slow": slow}})
    return spans, infos


@pytest.fixture(scope="module")
def data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return make_dataset()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Iterator[DuckDBStore]:
    spans, infos = data
    st = DuckDBStore(Path(tmp_path_factory.mktemp("analysis")) / "db")
    st.write("p", decode_ingest(msgspec.json.encode({"spans": spans, "traces": infos})))
    yield st
    st.close()


def frame(spans: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(spans)
    df["duration_ms"] = (df["end_time_ns"] - df["start_time_ns"]) / 1e6
    return df


def test_latency_by_name_matches_numpy(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    result = engine.latency(store, "p", None, ["span.name"])
    got = {r[0]: r for r in result["rows"]}
    assert result["columns"][:4] == ["span.name", "count", "errors", "error_rate"]
    for name, group in df.groupby("name"):
        row = got[name]
        assert row[1] == len(group)
        assert row[2] == int((group["status"] == "ERROR").sum())
        expected = np.percentile(group["duration_ms"], [50, 90, 95, 99])
        assert row[4:8] == pytest.approx(list(expected))
        assert row[8] == pytest.approx(group["duration_ms"].mean())


def test_latency_filter_groups_and_buckets(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    tags = {i["trace_id"]: i["tags"] for i in data[1]}
    df["model"] = df["trace_id"].map(lambda t: tags[t]["model"])
    result = engine.latency(store, "p", "tag.model = 'large' AND span.kind = 'llm'", ["span.name"], "1h")
    sub = df[(df["model"] == "large") & (df["kind"] == "llm")]
    sub = sub.assign(bucket=(sub["start_time_ns"] // 3_600_000_000_000) * 3_600_000_000_000)
    expected = sub.groupby(["name", "bucket"])["duration_ms"].agg(["count", lambda s: np.percentile(s, 95)])
    got = {(r[0], r[1]): (r[2], r[7]) for r in result["rows"]}
    assert set(got) == set(expected.index)
    for key, row in expected.iterrows():
        assert got[key][0] == row.iloc[0] and got[key][1] == pytest.approx(row.iloc[1])


def test_usage_counts_model_calls_only(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    llm = df[df["kind"] == "llm"].copy()
    attrs = pd.DataFrame(list(llm["attributes"]), index=llm.index)
    llm = llm.join(attrs)
    llm["tokens"] = llm["usage.total_tokens"].fillna(
        llm["gen_ai.usage.input_tokens"] + llm["gen_ai.usage.output_tokens"]
    )
    result = engine.usage(store, "p", None, ["model"])
    got = {r[0]: r for r in result["rows"]}
    for model, group in llm.groupby("gen_ai.request.model"):
        row = got[model]
        assert row[1] == len(group)
        assert row[2] == group["gen_ai.usage.input_tokens"].sum()
        assert row[3] == group["gen_ai.usage.output_tokens"].sum()
        assert row[4] == pytest.approx(group["tokens"].sum())
        assert row[5] == pytest.approx(group["spanscope.cost_usd"].sum())
    by_project = engine.usage(store, None, None, ["project"])
    assert by_project["rows"][0][0] == "p" and by_project["rows"][0][1] == len(llm)


def test_correlate_matches_numpy(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    quality = {i["trace_id"]: i["tags"]["quality_score"] for i in data[1]}
    per_trace = df[df["name"] == "llm.answer"].set_index("trace_id")["duration_ms"]
    x = np.array([quality[t] for t in per_trace.index])
    y = per_trace.to_numpy()
    result = engine.correlate(store, "p", "tag.quality_score", "span.duration_ms", "span.name = 'llm.answer'")
    assert result["unit"] == "trace" and result["n"] == len(x)
    assert result["pearson"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    rx, ry = pd.Series(x).rank(), pd.Series(y).rank()
    assert result["spearman"] == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    spans = engine.correlate(
        store, "p", "span.duration_ms", "span.attributes.gen_ai.usage.output_tokens", "span.kind = 'llm'"
    )
    llm = df[df["kind"] == "llm"]
    out = [a["gen_ai.usage.output_tokens"] for a in llm["attributes"]]
    assert spans["unit"] == "span" and spans["pearson"] == pytest.approx(np.corrcoef(llm["duration_ms"], out)[0, 1])


def test_compare_cohorts_and_span_names(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    tags = {i["trace_id"]: i["tags"] for i in data[1]}
    a_ids = {t for t, tg in tags.items() if tg["slow"]}
    b_ids = {t for t, tg in tags.items() if not tg["slow"]}
    result = engine.compare(store, "p", "tag.slow = true", "tag.slow = false")
    assert result["cohorts"]["a"]["traces"] == len(a_ids) and result["cohorts"]["b"]["traces"] == len(b_ids)
    db = {r["name"]: r for r in result["span_names"]}["db.query"]
    for label, ids in (("a", a_ids), ("b", b_ids)):
        durations = df[(df["name"] == "db.query") & df["trace_id"].isin(ids)]["duration_ms"]
        assert db[f"p95_ms_{label}"] == pytest.approx(np.percentile(durations, 95))
    assert db["p95_ms_diff"] < -300 and db["p95_ratio"] < 0.2  # b (not slow) is far faster at p95
    per_trace = df.groupby("trace_id").agg(start=("start_time_ns", "min"), end=("end_time_ns", "max"))
    trace_ms = (per_trace["end"] - per_trace["start"]) / 1e6
    for label, ids in (("a", a_ids), ("b", b_ids)):
        cohort = result["cohorts"][label]
        assert cohort["error_rate"] == 0  # a trace's status is its root span's, never an error here
        expected = np.percentile(trace_ms[sorted(ids)], [50, 95])
        assert [cohort["p50_ms"], cohort["p95_ms"]] == pytest.approx(list(expected))
    fields = [d["field"] for d in result["differences"]]
    assert "tag.slow" not in fields  # the field the filters test is left out
    assert "tag.model" in fields


def test_compare_overlapping_cohorts(store: DuckDBStore, data: Any) -> None:
    df = frame(data[0])
    slow = {i["trace_id"] for i in data[1] if i["tags"]["slow"]}
    result = engine.compare(store, "p", None, "tag.slow = true")  # every trace against the slow ones
    assert result["cohorts"]["a"]["traces"] == len(data[1]) and result["cohorts"]["b"]["traces"] == len(slow)
    names = {r["name"]: r for r in result["span_names"]}
    assert {r["spans_per_trace_a"] for r in names.values()} == {r["spans_per_trace_b"] for r in names.values()} == {1}
    db = df[df["name"] == "db.query"]["duration_ms"]
    assert names["db.query"]["p95_ms_a"] == pytest.approx(np.percentile(db, 95))
    assert names["db.query"]["p95_ms_b"] == pytest.approx(np.percentile(db[df["trace_id"].isin(slow)], 95))
    empty = engine.compare(store, "p", "tag.model = 'none'", "tag.slow = true")
    assert empty["cohorts"]["a"] == {
        "filter": "tag.model = 'none'",
        "traces": 0,
        "error_rate": None,
        "p50_ms": None,
        "p95_ms": None,
        "tokens_per_trace": None,
    }
    assert empty["cohorts"]["b"] == result["cohorts"]["b"] and empty["differences"] == []


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, list[dict[str, Any]]]]:
    """Cohort a (tag.group = 'a'): 100 traces a second apart, one an hour later (so the first time windows the
    sample is read in are too narrow) and one without spans (its start unknown); cohort b: 40 traces a minute
    apart, the fifth and sixth newest starting together. Traces older than the newest five of their cohort carry
    ``tag.legacy`` and a ``legacy`` span attribute."""
    starts = [(T0 + i * 10**9, "a") for i in range(100)] + [(T0 + 3600 * 10**9, "a"), (None, "a")]
    starts += [(T0 + 5 * 10**8 + (34 if j == 39 else j) * 60 * 10**9, "b") for j in range(40)]
    traces = [{"trace_id": f"{k + 1:032x}", "start": start, "group": group} for k, (start, group) in enumerate(starts)]
    for group in ("a", "b"):
        cohort = sorted((t for t in traces if t["group"] == group), key=_newest_first)
        for t in cohort[5:]:
            t["legacy"] = True
    spans, infos = [], []
    for k, t in enumerate(traces):
        legacy = {"legacy": True} if t.get("legacy") else {}
        infos.append({"trace_id": t["trace_id"], "tags": {"group": t["group"], "seq": k, **legacy}})
        if t["start"] is not None:
            end = t["start"] + (k % 7 + 1) * 10**6
            attrs = {"n": k, **legacy}
            spans.append(
                {"trace_id": t["trace_id"], "span_id": f"{k + 1:016x}", "name": "step", "kind": "chain",
                 "start_time_ns": t["start"], "end_time_ns": end, "status": "OK", "attributes": attrs}
            )  # fmt: skip
    st = DuckDBStore(Path(tmp_path_factory.mktemp("timeline")) / "db")
    st.write("p", decode_ingest(msgspec.json.encode({"spans": spans, "traces": infos})))
    yield st, traces
    st.close()


def _newest_first(trace: dict[str, Any]) -> tuple[bool, int, str]:
    return (trace["start"] is None, -(trace["start"] or 0), trace["trace_id"])


def test_compare_samples_the_newest_traces_of_each_cohort(timeline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    st, traces = timeline
    full = engine.compare(st, "p", "tag.group = 'a'", "tag.group = 'b'", top=50)
    monkeypatch.setattr(engine, "SAMPLE_ROWS", 5)
    small = engine.compare(st, "p", "tag.group = 'a'", "tag.group = 'b'", top=50)
    # Cohort and span name measures are over whole cohorts, whatever the sample.
    assert small["cohorts"] == full["cohorts"] and small["span_names"] == full["span_names"]
    assert small["cohorts"]["a"]["traces"] == 102 and small["cohorts"]["b"]["traces"] == 40
    assert "tag.legacy" in {d["field"] for d in full["differences"]}
    got = {(d["span_name"], d["field"]): d for d in small["differences"]}
    assert ("step", "span.attributes.legacy") not in got and (None, "tag.legacy") not in got
    seq = got[(None, "tag.seq")]
    for label in ("a", "b"):
        # The newest five (ties by trace id): the trace an hour later in a, not the one without spans.
        newest = sorted((t for t in traces if t["group"] == label), key=_newest_first)[:5]
        assert seq[f"mean_{label}"] == pytest.approx(sum(traces.index(t) for t in newest) / 5)
    assert seq["n_a"] == seq["n_b"] == 5
    steps = got[("step", "span.attributes.n")]
    assert steps["n_a"] == steps["n_b"] == 5 and steps["mean_a"] == seq["mean_a"]  # every sampled trace's span


def test_critical_path_matches_the_walk(store: DuckDBStore, data: Any) -> None:
    spans = [s for s in data[0] if s["trace_id"] == f"{7:032x}"]
    expected = time_by_name(
        critical_path(
            [
                PathSpan(
                    s["span_id"], s.get("parent_span_id"), s["name"], s["kind"], s["start_time_ns"], s["end_time_ns"]
                )
                for s in spans
            ]
        )
    )
    got = engine.critical_path_of(store, "p", f"{7:032x}")
    assert got is not None and {r["name"]: r["ms"] for r in got["by_name"]} == pytest.approx(expected)
    assert sum(s["duration_ms"] for s in got["segments"]) == pytest.approx(got["duration_ms"])
    assert engine.critical_path_of(store, "p", "f" * 32) is None
    summary = engine.critical_path_summary(store, "p", "tag.slow = true")
    assert summary["traces"] == sum(1 for i in data[1] if i["tags"]["slow"])
    assert {r["name"] for r in summary["by_name"]} >= {"llm.plan", "llm.answer", "db.query"}


def test_bad_input_is_a_filter_error(store: DuckDBStore) -> None:
    with pytest.raises(FilterError):
        engine.latency(store, "p", "span.nope = 1")
    with pytest.raises(FilterError):
        engine.latency(store, "p", None, ["span.nope"])
    with pytest.raises(FilterError):
        engine.latency(store, "p", None, ["span.name"], "3 fortnights")
    with pytest.raises(FilterError):
        engine.correlate(store, "p", "span.name", "span.duration_ms")
