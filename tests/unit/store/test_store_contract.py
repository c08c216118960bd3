"""The storage contract, run on every engine through the parametrized ``store`` fixture."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store import Store, open_store
from spanscope.store.clickhouse.schema import MIGRATIONS as CH_MIGRATIONS
from spanscope.store.datasets_core import DatasetNotFound, RecordIn, version_hash
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import drop_database, engine_url, fresh_chdb_store

ENGINES = ["duckdb", "chdb", "clickhouse"]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    # chdb: one fresh database per test inside the process's one chDB path; clickhouse: through clickhouse-connect,
    # to the server named by SPANSCOPE_TEST_CLICKHOUSE_URL, else to a local chDB-backed ClickHouse HTTP endpoint
    # (tests/clickhouse_http.py); one fresh database per test (engine_url).
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
    assert (t.name, t.status, t.duration_ms) == ("chatbot.turn", "OK", 100.0) and isinstance(t.duration_ms, float)
    assert t.tags == {"quality_score": 0.4, "user": "u1"} and t.session_id == "s1"
    assert t.inputs == {"messages": [{"role": "user", "content": "hi"}]} and t.outputs == {"answer": "hello"}
    assert [s.name for s in t.spans] == ["chatbot.turn", "llm.generate"]
    child = t.spans[1]
    assert child.attributes == {"usage.total_tokens": 42, "gen_ai.request.model": "gpt-4o"}
    assert child.events[0].attributes == {"exception.type": "ValueError"}
    assert [(f.name, f.value, f.span_id) for f in t.findings] == [("safe", 0.9, sid(2))]
    assert store.get_trace("other-project", tid(1)) is None
    assert store.get_trace("p", tid(2)) is None


def test_get_trace_keeps_awkward_text_and_numbers_exact(store: Store) -> None:
    # ClickHouse packs get_trace's rows as JSON text: quotes, escapes, control characters, non-ASCII, large
    # integers and floats must come back exactly as written.
    text = 'quote " back\\slash \n\t\x01 caf\u00e9 \u4e2d\u6587 \U0001f600 </script>'
    write(
        store,
        spans=spans(
            make_span(
                tid(1),
                sid(1),
                text,
                dur_ms=1234.5678,
                status="ERROR",
                status_message=text,
                inputs=text,
                outputs={"k": [text, 2**62, -1.5e-300, 0.1, True, None]},
                attributes={text: text, "big": 2**63 - 1, "neg": -(2**62), "f": 1 / 3},
                events=[{"name": text, "time_ns": 2**62, "attributes": {"x": text}}],
            ),
        ),
        traces=[TraceInfo(trace_id=tid(1), tags={text: text}, metadata={"m": 2**53 + 1}, user_id=text)],
        findings=[Finding(trace_id=tid(1), name=text, value=text, rationale=text, time_ns=2**62, finding_id="f")],
    )
    t = store.get_trace("p", tid(1))
    assert t is not None and t.user_id == text and t.tags == {text: text} and t.metadata == {"m": 2**53 + 1}
    (span,) = t.spans
    assert (span.name, span.status_message, span.inputs) == (text, text, text)
    assert span.outputs == {"k": [text, 2**62, -1.5e-300, 0.1, True, None]}
    assert span.attributes == {text: text, "big": 2**63 - 1, "neg": -(2**62), "f": 1 / 3}
    assert [(e.name, e.time_ns, e.attributes) for e in span.events] == [(text, 2**62, {"x": text})]
    assert span.end_time_ns - span.start_time_ns == 1_234_567_800 and t.duration_ms == 1234.5678
    assert [(f.name, f.value, f.rationale, f.time_ns) for f in t.findings] == [(text, text, text, 2**62)]


def test_one_write_may_span_many_days(store: Store) -> None:
    # ClickHouse partitions spans and traces by day and refuses more than 100 partitions in one insert block by
    # default: a backfill of a year of light traffic arrives in one write.
    day_ms = 86_400_000
    write(store, spans=spans(*(make_span(tid(i + 1), sid(1), "root", start_ms=-i * day_ms) for i in range(150))))
    assert store.count_matching("traces", "p") == 150
    assert store.count_matching("spans", "p", "span.name = 'root'") == 150


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


def test_a_trace_whose_start_moves_stays_one_row(store: Any) -> None:
    # ClickHouse sorts traces by start (schema 0600): when a later write moves a trace's start (tags before any
    # span; a root older than its children), the row under the old start must not stay visible beside the new.
    def apart(**kw: list) -> None:  # each its own write group (the ingest log would gather them into one)
        write(store, **kw)
        store.barrier()

    apart(traces=[TraceInfo(trace_id=tid(1), tags={"v": "first"})])
    apart(spans=spans(make_span(tid(1), sid(3), "child", parent=sid(2), start_ms=5000, dur_ms=5)))
    apart(spans=spans(make_span(tid(2), sid(9), "other", start_ms=3000)))
    apart(spans=spans(make_span(tid(1), sid(2), "mid", parent=sid(1), start_ms=4000, dur_ms=1100)))
    apart(spans=spans(make_span(tid(1), sid(1), "root", start_ms=1000, dur_ms=4100)))
    apart(findings=[Finding(trace_id=tid(1), name="ok", value=False, time_ns=1, finding_id="f1")])
    meta = {"spanscope.supersedes": "f1"}
    apart(findings=[Finding(trace_id=tid(1), name="ok", value=True, time_ns=2, finding_id="f2", metadata=meta)])
    every = store.search_traces("p", max_results=10)
    assert [(r.trace_id, r.name, r.duration_ms) for r in every.traces] == [
        (tid(2), "other", 10.0),
        (tid(1), "root", 4100.0),
    ]
    assert every.traces[1].tags == {"v": "first"} and every.traces[1].findings["ok"] is True
    assert store.count_matching("traces", "p") == 2
    assert store.count_matching("traces", "p", "trace.duration_ms > 4000") == 1
    t = store.get_trace("p", tid(1))
    assert t is not None and (t.name, t.start_time_ns, len(t.spans)) == ("root", 1_700_000_001_000_000_000, 3)
    assert [f.finding_id for f in t.findings] == ["f1", "f2"]
    page = store.search_traces("p", max_results=1)
    rest = store.search_traces("p", max_results=5, page_token=page.next_page_token)
    assert [r.trace_id for r in page.traces + rest.traces] == [tid(2), tid(1)] and rest.next_page_token is None
    assert store.get_trace("p", tid(3)) is None
    apart(traces=[TraceInfo(trace_id=tid(4), tags={"only": "tags"})])  # no span: no start
    apart(findings=[Finding(trace_id=tid(5), name="ok", value=1, time_ns=1, finding_id="f5")])  # a finding alone
    bare = store.get_trace("p", tid(4))
    assert bare is not None and (bare.tags, bare.spans, bare.start_time_ns) == ({"only": "tags"}, [], None)
    alone = store.get_trace("p", tid(5))
    assert alone is not None and [f.finding_id for f in alone.findings] == ["f5"] and alone.spans == []


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


def test_a_large_group_is_written_and_read(store: Store) -> None:
    # 400 traces in one write: the writer's lookups bind 400 trace ids (over a server, clickhouse-connect sends
    # parameters that long as multipart/form-data), and a page's reads bind 100.
    batch = spans(*(make_span(tid(n), sid(n), "root", start_ms=n) for n in range(1, 401)))
    write(store, spans=batch)
    assert store.count_matching("traces", "p") == 400  # type: ignore[attr-defined]
    page = store.search_traces("p", max_results=100)
    assert len(page.traces) == 100 and page.traces[0].trace_id == tid(400)
    t = store.get_trace("p", tid(1))
    assert t is not None and len(t.spans) == 1


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
        assert again.engine.migrations_applied() == sorted(CH_MIGRATIONS)  # type: ignore[attr-defined]
    finally:
        again.close()
        drop_database(url)


# ---------------------------------------------------------------------------------------------- quality loop
def test_dataset_versions_records_and_delete(store: Store) -> None:
    assert store.create_dataset("p", "ds", "first", "alice")["content_hash"] == version_hash([])
    v1 = store.commit_dataset_version("p", "ds", add=[RecordIn({"q": "a"}, expected="A"), RecordIn({"q": "b"})])
    first = store.dataset_records("p", "ds")
    v2 = store.commit_dataset_version("p", "ds", remove=[first[0]["record_id"]], add=[RecordIn({"q": "c"})], by="bob")
    assert (v1["version"], v2["version"], v2["record_count"]) == (1, 2, 2)
    assert store.dataset_records("p", "ds", 1) == first and [r["expected"] for r in first] == ["A", None]
    assert [r["fields"]["q"] for r in store.dataset_records("p", "ds", offset=1, limit=5)] == ["c"]
    assert [(d["name"], d["version"], d["record_count"]) for d in store.list_datasets("p")] == [("ds", 2, 2)]
    assert store.get_dataset("p", "ds", 1)["latest_version"] == 2  # type: ignore[index]
    assert [v["created_by"] for v in store.dataset_versions("p", "ds")] == ["alice", None, "bob"]
    assert store.dataset_diff("p", "ds", 1, 2)["unchanged"] == 1
    assert store.delete_dataset("p", "ds") and store.list_datasets("p") == [] and not store.delete_dataset("p", "ds")
    with pytest.raises(DatasetNotFound):
        store.dataset_records("p", "ds")
    engine = getattr(store, "engine", store)
    if hasattr(engine, "_ex"):  # ClickHouse: the tombstone hides them, and the delete drops them too
        for table in ("dataset_members_data", "dataset_revisions_data", "dataset_versions_data"):
            assert engine._ex.rows(f"SELECT count() FROM {table} WHERE dataset = 'ds'") == [(0,)], table
    store.create_dataset("p", "ds")  # a new dataset of the same name starts empty
    assert [v["version"] for v in store.dataset_versions("p", "ds")] == [0]
    assert store.dataset_records("p", "ds") == [] and store.list_datasets("other") == []


def test_eval_runs_results_replace_and_recount(store: Store) -> None:
    run = store.create_run("p", name="nightly", dataset="ds", dataset_version=3, scorers=["exact"], params={"t": 0})
    assert (run["status"], run["record_count"], run["finished_at_ns"]) == ("running", 0, None)
    rows = [{"record_id": f"r{i}", "position": i, "scores": {"exact": i % 2 == 0}, "latency_ms": 1.5} for i in range(3)]
    assert store.add_run_results("p", run["run_id"], rows) == 3
    store.add_run_results("p", run["run_id"], [{"record_id": "r1", "position": 1, "error": "boom"}])  # replaces r1
    done = store.finish_run("p", run["run_id"], aggregates={"exact": 0.5})
    assert done is not None and (done["status"], done["record_count"]) == ("finished", 3)
    assert done["aggregates"] == {"exact": 0.5} and done["finished_at_ns"]
    got = store.get_run("p", "nightly")  # by name
    assert got is not None and got["run_id"] == run["run_id"] and got["params"] == {"t": 0}
    assert [(r["record_id"], r["error"], r["scores"]) for r in got["results"]] == [
        ("r0", None, {"exact": True}),
        ("r1", "boom", {}),
        ("r2", None, {"exact": True}),
    ]
    later = store.create_run("p", name="nightly")
    assert [r["run_id"] for r in store.list_runs("p")] == [later["run_id"], run["run_id"]]
    assert [r["run_id"] for r in store.list_runs("p", dataset="ds")] == [run["run_id"]]
    assert store.get_run("p", "missing") is None and store.list_runs("other") == []


def test_finding_history_current_ids_and_values(store: Store) -> None:
    write(
        store,
        spans=spans(make_span(tid(1), sid(1), "a"), make_span(tid(2), sid(2), "b")),
        traces=[TraceInfo(trace_id=tid(1), tags={"v": "x"}), TraceInfo(trace_id=tid(2), tags={"v": "y"})],
        findings=[
            Finding(trace_id=tid(1), name="ok", value=False, time_ns=1, finding_id="f1"),
            Finding(trace_id=tid(2), name="ok", value=True, time_ns=1, finding_id="f2"),
            Finding(trace_id=tid(2), name="ok", value=0.5, time_ns=1, span_id=sid(2), finding_id="s2"),
        ],
    )
    # an update is a new finding naming the one it supersedes
    meta = {"spanscope.supersedes": "f1"}
    write(store, findings=[Finding(trace_id=tid(1), name="ok", value=True, time_ns=2, finding_id="f1b", metadata=meta)])
    assert [f["finding_id"] for f in store.list_findings("p", name="ok")] == ["f2", "s2", "f1b"]
    every = store.list_findings("p", trace_id=tid(1), include_superseded=True)
    assert [(f["finding_id"], f["superseded_by"]) for f in every] == [("f1", "f1b"), ("f1b", None)]
    old = store.get_finding("p", "f1")
    assert old is not None and [h["finding_id"] for h in old["history"]] == ["f1", "f1b"] and old["current_id"] == "f1b"
    assert store.get_finding("p", "nope") is None
    assert store.current_finding_ids("p", [(tid(1), None, "ok", "code")]) == {(tid(1), None, "ok", "code"): "f1b"}
    assert sorted(store.metric_values("p", "ok")) == [(tid(1), True), (tid(2), True)]  # trace-level beats span
    assert store.metric_values("p", "finding.ok", "tag.v = 'y' AND span.name = 'b'") == [(tid(2), True)]
    assert sorted(store.metric_values("p", "tag.v")) == [(tid(1), "x"), (tid(2), "y")]


def test_sdk_drop_reports_are_summed_per_project(store: Store) -> None:
    def report(n: int, project: str, dropped: dict[str, object]) -> None:
        stats = {"dropped": dropped, "sdk": "spanscope-python", "version": "1"}
        store.write(project, IngestBatch(spans=spans(make_span(tid(n), sid(n))), sdk_stats=stats))

    report(1, "a", {"queue_full": 3, "export_failed": 0})
    report(2, "a", {"queue_full": 2, "sampled_out": 7, "bogus": "x"})
    report(3, "b", {"shutdown": 1})
    got = store.sdk_drop_totals("a")
    assert got["dropped"] == {"queue_full": 5, "sampled_out": 7} and got["last_report_ns"] > 0
    assert store.sdk_drop_totals("none") == {"project": "none", "dropped": {}, "last_report_ns": None}


def test_a_replayed_drop_report_counts_once(store: Store) -> None:
    # A report is keyed by the id the ingest log stamped on it, else by its batch (store/reports.py).
    batch = IngestBatch(spans=spans(make_span(tid(1), sid(1))), sdk_stats={"dropped": {"queue_full": 4}})
    stamped = IngestBatch(sdk_stats={"dropped": {"shutdown": 2}, "spanscope.report_id": "r1"})
    for _ in range(2):
        store.write_many([("p", batch), ("p", stamped)])  # type: ignore[attr-defined]
    assert store.sdk_drop_totals("p")["dropped"] == {"queue_full": 4, "shutdown": 2}


# ---------------------------------------------------------------------------------------------- ClickHouse only
@pytest.fixture
def ch_store() -> Iterator[object]:
    with fresh_chdb_store() as s:
        yield s


def test_clickhouse_interrupted_dataset_writes_stay_invisible(ch_store: Any) -> None:
    from spanscope.store.datasets_core import revision_hash

    # create interrupted after version 0's row: no dataset, and creating it again works
    with ch_store._write_op() as op:
        ch_store._put_rows(op, "dataset_versions", [("p", "ds", 0, version_hash([]), 0, 1, None, "created", None)])
    assert ch_store.get_dataset("p", "ds") is None and ch_store.list_datasets("p") == []
    ch_store.create_dataset("p", "ds")
    ch_store.commit_dataset_version("p", "ds", add=[RecordIn({"q": 1}, record_id="r1")])
    before = ch_store.dataset_records("p", "ds")
    # a commit interrupted before its version's row: members of version 2 written, never read
    rev = revision_hash("r9", {"q": 9}, None, None, None)
    with ch_store._write_op() as op:
        ch_store._put_rows(op, "dataset_revisions", [("p", "ds", rev, "r9", "h", '{"q": 9}', None, None, None)])
        members = [("p", "ds", 2, i, rid, h, 1, None, None, None) for i, (rid, h) in enumerate([("r9", rev)] * 3)]
        ch_store._put_rows(op, "dataset_members", members)
    assert ch_store.get_dataset("p", "ds")["version"] == 1 and ch_store.dataset_records("p", "ds") == before
    out = ch_store.commit_dataset_version("p", "ds", add=[RecordIn({"q": 2}, record_id="r2")])
    assert out["version"] == 2
    assert [r["record_id"] for r in ch_store.dataset_records("p", "ds", 2)] == ["r1", "r2"]
    # a deleted dataset's versions stay unread when the name is used again
    assert ch_store.delete_dataset("p", "ds")
    ch_store.create_dataset("p", "ds")
    assert [v["version"] for v in ch_store.dataset_versions("p", "ds")] == [0]
    with pytest.raises(DatasetNotFound):
        ch_store.dataset_records("p", "ds", 2)


def test_clickhouse_writes_supersede_a_replica_whose_clock_runs_ahead(ch_store: Any) -> None:
    ahead = time.time_ns() + 3600 * 10**9  # another replica, its clock an hour ahead, created the dataset and run
    ex = ch_store._ex
    ex.insert(
        "dataset_versions_data",
        ("project", "dataset", "version", "content_hash", "record_count", "created_at_ns", "_version"),
        [("p", "ds", 0, version_hash([]), 0, 1, ahead)],
    )
    ex.insert("datasets_data", ("project", "name", "created_at_ns", "_version"), [("p", "ds", 1, ahead)])
    ex.insert(
        "eval_runs_data",
        ("project", "run_id", "name", "status", "created_at_ns", "record_count", "_version"),
        [("p", "r1", "run", "running", 1, 0, ahead)],
    )
    assert ch_store.commit_dataset_version("p", "ds", add=[RecordIn({"q": 1})])["version"] == 1
    assert len(ch_store.dataset_records("p", "ds")) == 1
    assert ch_store.finish_run("p", "r1")["status"] == "finished"  # type: ignore[index]
