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
    fields = [d["field"] for d in result["differences"]]
    assert "tag.slow" not in fields  # the field the filters test is left out
    assert "tag.model" in fields


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
