"""The storage contract, run on every engine through the parametrized ``store`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store import Store, open_store
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import drop_database, engine_url

ENGINES = ["duckdb", "chdb", "clickhouse"]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    # chdb: one fresh database per test inside the process's one chDB path; clickhouse: the server named by
    # SPANSCOPE_TEST_CLICKHOUSE_URL (skipped when unset), one fresh database per test (engine_url).
    url = engine_url(request.param)
    s = open_store(str(tmp_path / request.param), url)
    yield s
    s.close()
    drop_database(url)


def spans(*items: dict[str, object]) -> list[Span]:
    return [msgspec.convert(i, Span) for i in items]


def write(store: Store, project: str = "p", **kw: list) -> None:
    store.write(project, IngestBatch(**kw))


def test_roundtrip_whole_trace(store: Store) -> None:
    write(
        store,
        spans=spans(
            make_span(
                tid(1),
                sid(1),
                "chatbot.turn",
                dur_ms=100,
                status="OK",
                inputs={"messages": [{"role": "user", "content": "hi"}]},
                outputs={"answer": "hello"},
            ),
            make_span(
                tid(1),
                sid(2),
                "llm.generate",
                parent=sid(1),
                start_ms=10,
                dur_ms=50,
                kind="llm",
                attributes={"usage.total_tokens": 42, "gen_ai.request.model": "gpt-4o"},
                events=[{"name": "exception", "time_ns": 5, "attributes": {"exception.type": "ValueError"}}],
            ),
        ),
        traces=[TraceInfo(trace_id=tid(1), tags={"quality_score": 0.4, "user": "u1"}, session_id="s1")],
        findings=[Finding(trace_id=tid(1), name="safe", value=0.9, span_id=sid(2), time_ns=1, finding_id="f1")],
    )
    t = store.get_trace("p", tid(1))
    assert t is not None
    assert (t.name, t.status, t.duration_ms) == ("chatbot.turn", "OK", 100.0)
    assert t.tags == {"quality_score": 0.4, "user": "u1"} and t.session_id == "s1"
    assert t.inputs == {"messages": [{"role": "user", "content": "hi"}]} and t.outputs == {"answer": "hello"}
    assert [s.name for s in t.spans] == ["chatbot.turn", "llm.generate"]
    child = t.spans[1]
    assert child.attributes == {"usage.total_tokens": 42, "gen_ai.request.model": "gpt-4o"}
    assert child.events[0].attributes == {"exception.type": "ValueError"}
    assert [(f.name, f.value, f.span_id) for f in t.findings] == [("safe", 0.9, sid(2))]
    assert store.get_trace("other-project", tid(1)) is None
    assert store.get_trace("p", tid(2)) is None


def test_same_span_twice_keeps_latest(store: Store) -> None:
    write(store, spans=spans(make_span(tid(1), sid(1), "first", dur_ms=10)))
    write(
        store,
        spans=spans(make_span(tid(1), sid(1), "second", dur_ms=20), make_span(tid(1), sid(1), "third", dur_ms=30)),
    )
    t = store.get_trace("p", tid(1))
    assert t is not None and [s.name for s in t.spans] == ["third"]
    assert t.name == "third" and t.duration_ms == 30.0


def test_trace_assembled_from_pieces_in_any_order(store: Store) -> None:
    # children first, in separate batches; the root arrives last
    write(store, spans=spans(make_span(tid(1), sid(3), "db.query", parent=sid(2), start_ms=20, dur_ms=5)))
    r = store.search_traces("p", f"trace.id = '{tid(1)}'")
    assert [x.trace_id for x in r.traces] == [tid(1)]  # searchable before its root arrives
    write(store, spans=spans(make_span(tid(1), sid(2), "tool", parent=sid(1), start_ms=10, dur_ms=30, status="ERROR")))
    write(store, spans=spans(make_span(tid(1), sid(1), "root", dur_ms=100, status="OK")))
    t = store.get_trace("p", tid(1))
    assert t is not None and (t.name, t.status, t.duration_ms) == ("root", "OK", 100.0)
    assert len(t.spans) == 3


def test_trace_info_merges_key_by_key(store: Store) -> None:
    write(
        store,
        spans=spans(make_span(tid(1), sid(1))),
        traces=[TraceInfo(trace_id=tid(1), tags={"a": 1, "b": "x"}, metadata={"m": 1}, user_id="u")],
    )
    write(store, traces=[TraceInfo(trace_id=tid(1), tags={"b": "y", "c": True}, session_id="s")])
    t = store.get_trace("p", tid(1))
    assert t is not None
    assert t.tags == {"a": 1, "b": "y", "c": True} and t.metadata == {"m": 1}
    assert (t.user_id, t.session_id) == ("u", "s")


def test_search_order_pagination_and_columns(store: Store) -> None:
    items = [
        make_span(
            tid(i),
            sid(i),
            f"t{i}",
            start_ms=i * 1000,
            dur_ms=i * 10,
            outputs={"n": i},
            attributes={"usage.total_tokens": i * 100},
        )
        for i in range(1, 8)
    ]
    write(
        store,
        spans=spans(*items),
        traces=[TraceInfo(trace_id=tid(i), tags={"q": i / 10}) for i in range(1, 8)],
        findings=[Finding(trace_id=tid(i), name="score", value=i, time_ns=1, finding_id=f"f{i}") for i in range(1, 8)],
    )
    r1 = store.search_traces("p", None, max_results=3, order_by=["duration_ms DESC"])
    assert [x.name for x in r1.traces] == ["t7", "t6", "t5"] and r1.next_page_token
    r2 = store.search_traces("p", None, max_results=3, order_by=["duration_ms DESC"], page_token=r1.next_page_token)
    assert [x.name for x in r2.traces] == ["t4", "t3", "t2"]
    r3 = store.search_traces("p", None, max_results=3, order_by=["duration_ms DESC"], page_token=r2.next_page_token)
    assert [x.name for x in r3.traces] == ["t1"] and r3.next_page_token is None
    # default order: newest first
    assert [x.name for x in store.search_traces("p").traces][:2] == ["t7", "t6"]
    r = store.search_traces(
        "p",
        "tag.q < 0.35",
        order_by="tag.q",
        extract_fields=["span.attributes.usage.total_tokens", "span.outputs.n", "tag.q"],
    )
    assert [x.name for x in r.traces] == ["t1", "t2", "t3"]
    assert r.traces[0].fields == {"span.attributes.usage.total_tokens": 100, "span.outputs.n": 1, "tag.q": 0.1}
    assert r.traces[2].findings == {"score": 3}
    assert r.traces[0].response == {"n": 1}


def test_standalone_events_join_their_span(store: Store) -> None:
    from spanscope.ingest import SpanEvent

    write(store, events=[SpanEvent(trace_id=tid(1), span_id=sid(1), name="late", time_ns=9)])
    write(store, spans=spans(make_span(tid(1), sid(1), events=[{"name": "early", "time_ns": 1}])))
    t = store.get_trace("p", tid(1))
    assert t is not None and [e.name for e in t.spans[0].events] == ["early", "late"]


def test_projects_are_separate(store: Store) -> None:
    write(store, "a", spans=spans(make_span(tid(1), sid(1), "in-a")))
    write(store, "b", spans=spans(make_span(tid(2), sid(2), "in-b")))
    assert [t.name for t in store.search_traces("a").traces] == ["in-a"]
    assert [t.name for t in store.search_traces("b").traces] == ["in-b"]


def test_reopen_keeps_data_and_read_only_open(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "d"))
    write(s, spans=spans(make_span(tid(1), sid(1), "kept")))
    s.close()
    ro = open_store(str(tmp_path / "d"), read_only=True)
    try:
        assert [t.name for t in ro.search_traces("p").traces] == ["kept"]
        with pytest.raises(RuntimeError):
            write(ro, spans=spans(make_span(tid(2), sid(2))))
    finally:
        ro.close()


def test_a_replayed_group_adds_nothing(store: Store) -> None:
    # What the ingest log does after a crash between the engine's write and its watermark: write again.
    batch = IngestBatch(
        spans=spans(make_span(tid(1), sid(1), "root", dur_ms=10), make_span(tid(1), sid(2), "llm", parent=sid(1))),
        findings=[Finding(trace_id=tid(1), name="score", value=1, time_ns=1, finding_id="f1")],
    )
    for _ in range(2):
        store.write("p", batch)
    t = store.get_trace("p", tid(1))
    assert t is not None and len(t.spans) == 2 and len(t.findings) == 1
    assert [x.trace_id for x in store.search_traces("p").traces] == [tid(1)]
    assert store.count_matching("spans", "p") == 2  # type: ignore[attr-defined]


def test_span_search_and_span_filters(store: Store) -> None:
    write(
        store,
        spans=spans(
            make_span(tid(1), sid(1), "root", dur_ms=100),
            make_span(tid(1), sid(2), "llm", parent=sid(1), kind="llm", attributes={"usage.total_tokens": 900}),
            make_span(tid(2), sid(3), "root", start_ms=5000, dur_ms=100),
            make_span(
                tid(2), sid(4), "llm", parent=sid(3), start_ms=5001, kind="llm", attributes={"usage.total_tokens": 90}
            ),
        ),
    )
    r = store.search_traces("p", "span.kind = 'llm' AND span.attributes.usage.total_tokens > 100")
    assert [x.trace_id for x in r.traces] == [tid(1)]
    got = store.search_spans("p", "span.kind = 'llm'", order_by="span.attributes.usage.total_tokens DESC")  # type: ignore[attr-defined]
    assert [(s["span_id"], s["attributes"]) for s in got["spans"]] == [
        (sid(2), {"usage.total_tokens": 900}),
        (sid(4), {"usage.total_tokens": 90}),
    ]
    assert store.count_matching("traces", "p", "ANY span(descendant(span.kind = 'llm'))") == 2  # type: ignore[attr-defined]


def test_chdb_reopen_keeps_data_and_migrates_once(tmp_path: Path) -> None:
    from tests.unit.store.engines import drop_database, engine_url

    url = engine_url("chdb")
    s = open_store(str(tmp_path / "d"), url)
    write(s, spans=spans(make_span(tid(1), sid(1), "kept")))
    s.close()
    again = open_store(str(tmp_path / "d"), url)
    try:
        assert [t.name for t in again.search_traces("p").traces] == ["kept"]
        assert again.engine.migrations_applied() == ["0001_core"]  # type: ignore[attr-defined]
    finally:
        again.close()
        drop_database(url)
