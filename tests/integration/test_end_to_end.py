"""SDK -> HTTP -> DuckDB -> search_traces / get_trace, against a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import spanscope
from spanscope.cli.demo_app import simulate
from spanscope.query import FilterError
from spanscope.server import ServerThread


@pytest.fixture
def sdk(server: ServerThread) -> Iterator[ServerThread]:
    spanscope.configure(endpoint=server.url, project="e2e")
    yield server
    spanscope.shutdown()


def test_instrument_flush_search_and_get(sdk: ServerThread) -> None:
    ids = []
    for i, q in enumerate((0.2, 0.6, 0.9)):
        with spanscope.trace("chatbot.turn", tags={"quality_score": q, "n": i}, session_id="s1", user_id="u1") as t:
            t.set_inputs({"messages": [{"role": "user", "content": f"question {i}"}]})
            with spanscope.span("llm.generate", kind="llm") as s:
                s.set_inputs({"messages": [{"role": "user", "content": f"question {i}"}]})
                s.set_attributes({"usage.total_tokens": 100 * (i + 1), "gen_ai.request.model": "m"})
                s.set_outputs({"choices": [{"message": {"role": "assistant", "content": f"answer {i}"}}]})
            with pytest.raises(KeyError), spanscope.span("llm.tools.get_order", kind="tool"):
                raise KeyError("order")
            t.add_finding("helpful", q > 0.5, source="human")
            ids.append(t.trace_id)
    assert spanscope.flush(timeout=10) is True

    df = spanscope.search_traces(
        "tag.quality_score < 0.7",
        extract_fields=["span.inputs.messages", "span.outputs.choices", "span.attributes.usage.total_tokens"],
        order_by=["tag.quality_score"],
    )
    assert list(df["trace_id"]) == ids[:2]
    for col in (
        "trace_id",
        "name",
        "status",
        "start_time",
        "duration_ms",
        "tags",
        "request",
        "response",
        "tag.quality_score",
        "tag.n",
        "finding.helpful",
        "span.inputs.messages",
    ):
        assert col in df.columns
    assert str(df["start_time"].dt.tz) == "UTC"
    assert df["span.inputs.messages"].iloc[0] == [{"role": "user", "content": "question 0"}]
    assert df["span.outputs.choices"].iloc[1][0]["message"]["content"] == "answer 1"
    assert list(df["span.attributes.usage.total_tokens"]) == [100, 200]
    assert list(df["finding.helpful"]) == [False, True]
    assert df["tags"].iloc[0] == {"quality_score": 0.2, "n": 0}
    assert df["request"].iloc[0] == {"messages": [{"role": "user", "content": "question 0"}]}
    assert df["status"].tolist() == ["OK", "OK"]

    t = spanscope.get_trace(ids[0])
    assert t.name == "chatbot.turn" and t.session_id == "s1" and t.user_id == "u1"
    by_name = {s.name: s for s in t.spans}
    tool = by_name["llm.tools.get_order"]
    assert tool.status == "ERROR" and tool.kind == "tool"
    exc = next(e for e in tool.events if e.name == "exception")
    assert exc.attributes["exception.type"].endswith("KeyError")
    assert "Traceback" in exc.attributes["exception.stacktrace"]
    assert by_name["llm.generate"].parent_span_id == t.root_span.span_id

    assert len(spanscope.search_traces("span.kind = 'tool' AND span.status = 'ERROR'")) == 3
    assert len(spanscope.search_traces("finding.helpful = true")) == 2
    with pytest.raises(FilterError) as err:
        spanscope.search_traces("tag.quality_score <")
    assert err.value.column >= 1


def test_empty_result_has_columns(sdk: ServerThread) -> None:
    df = spanscope.search_traces("trace.name = 'nothing'", extract_fields=["span.outputs.x"])
    assert len(df) == 0
    assert list(df.columns) == [
        "trace_id",
        "name",
        "status",
        "start_time",
        "duration_ms",
        "tags",
        "request",
        "response",
        "span.outputs.x",
    ]


def test_demo_data_seed_query_and_correlation(sdk: ServerThread) -> None:
    results = simulate(80, seed=3, start_ns=1_700_000_000 * 10**9)
    assert spanscope.flush(timeout=30)
    df = spanscope.search_traces(
        "tag.quality_score < 0.7",
        max_results=1000,
        extract_fields=["span.inputs.messages", "span.outputs.choices", "span.attributes.usage.total_tokens"],
    )
    expected = {r.trace_id for r in results if r.quality < 0.7}
    assert expected and set(df["trace_id"]) == expected
    assert (df["tag.quality_score"] < 0.7).all()
    assert all(isinstance(m, list) and m[-1]["role"] == "user" for m in df["span.inputs.messages"])
    assert all(isinstance(c, list) and "message" in c[0] for c in df["span.outputs.choices"])
    everything = spanscope.search_traces(max_results=None, extract_fields=["span.attributes.usage.total_tokens"])
    assert len(everything) == 80
    r = everything["tag.quality_score"].corr(everything["span.attributes.usage.total_tokens"])
    assert isinstance(r, float) and not pd.isna(r) and r < 0
    failed = spanscope.search_traces("span.kind = 'tool' AND span.status = 'ERROR'", max_results=1000)
    assert set(failed["trace_id"]) == {x.trace_id for x in results if x.error}
